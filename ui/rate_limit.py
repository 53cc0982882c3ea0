"""A per-client rate limit on the explorer's named API, applied before a request joins the queue.

Each client (the request's address, as the server sees it: uvicorn rewrites it from
X-Forwarded-For only when the direct peer is a trusted proxy, `FORWARDED_ALLOW_IPS`, loopback
by default) has a token bucket: `api_burst` requests at once, refilled at `api_rate` per
second (ui.quotas). A request to a public (named) endpoint without a token is answered at
once with HTTP 429, a readable line and Retry-After; it never enters Gradio's queue, so a
flood neither fills the queue nor takes a render slot from other clients. The panel's own
events (private, driven by its page) are not limited.

`ApiRateLimit` is an ASGI middleware for the Gradio app: pass `app_kwargs()` to
`demo.launch(...)` or `gr.mount_gradio_app(...)`. Routes that name an endpoint are matched by
path (`/gradio_api/call/<name>`, `/call/v2/<name>`, `/run/<name>`, `/api/<name>`); a
`/gradio_api/queue/join` names it by `fn_index` in its JSON body.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import OrderedDict
from typing import Any, Awaitable, Callable

MAX_CLIENTS = 10_000  # buckets kept; the least recently seen client is forgotten first
_NAMED = re.compile(r"/gradio_api/(?:call/v2|call|run|api)/([^/]+)/?$")
_JOIN = re.compile(r"/gradio_api/queue/join/?$")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class TokenBuckets:
    """`burst` requests at once per key, refilled at `rate` per second (thread-safe)."""

    def __init__(self, rate: float, burst: int, max_keys: int = MAX_CLIENTS,
                 clock: Callable[[], float] = time.monotonic):
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate, self.burst, self.max_keys, self.clock = float(rate), int(burst), max_keys, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0.0 when `key` may go ahead (a token is spent), else the seconds until it may."""
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens - 1.0 if not wait else tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return wait


def refusal(wait_s: float, rate: float, burst: int) -> str:
    return (f"Too many requests from your address: the API allows {rate:g} per second (bursts of {burst}) "
            f"per client. Try again in {max(wait_s, 0.1):.1f} s.")


class ApiRateLimit:
    """ASGI middleware: the per-client limit on the public endpoints of the Gradio app it wraps."""

    def __init__(self, app: Callable[..., Awaitable[None]], buckets: TokenBuckets | None = None):
        self.app = app
        self._buckets = buckets

    @property
    def buckets(self) -> TokenBuckets:
        if self._buckets is None:  # read the settings on the first request, not at import
            from .quotas import limits

            lim = limits()
            self._buckets = TokenBuckets(lim.api_rate, lim.api_burst)
        return self._buckets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        named = _NAMED.search(path)
        if named:
            limited = _public(scope, api_name=named.group(1))
        elif _JOIN.search(path):
            body, receive = await _buffer(receive)
            limited = _public(scope, fn_index=_fn_index(body))
        else:
            limited = False
        if limited:
            client = scope.get("client") or ("unknown", 0)
            wait = self.buckets.take(str(client[0]))
            if wait:
                await _too_many(send, wait, self.buckets)
                return
        await self.app(scope, receive, send)


def _public(scope: Scope, api_name: str | None = None, fn_index: int | None = None) -> bool:
    """Whether the request names a public endpoint of the app (an unknown one: Gradio answers it)."""
    try:
        blocks = scope["app"].get_blocks()
    except (KeyError, AttributeError, ValueError):
        return False
    if fn_index is not None:
        fn = blocks.fns.get(fn_index)
        return fn is not None and fn.api_visibility == "public"
    return any(fn.api_name == api_name and fn.api_visibility == "public" for fn in blocks.fns.values())


def _fn_index(body: bytes) -> int | None:
    try:
        got = json.loads(body).get("fn_index")
    except (ValueError, AttributeError):
        return None
    return got if isinstance(got, int) else None


async def _buffer(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole request body, and a `receive` that hands it on unchanged."""
    messages, chunks = [], []
    while True:
        msg = await receive()
        messages.append(msg)
        if msg["type"] != "http.request":
            break
        chunks.append(msg.get("body", b""))
        if not msg.get("more_body"):
            break

    async def replay() -> dict[str, Any]:
        return messages.pop(0) if messages else await receive()

    return b"".join(chunks), replay


async def _too_many(send: Send, wait: float, buckets: TokenBuckets) -> None:
    text = refusal(wait, buckets.rate, buckets.burst)
    body = json.dumps({"error": text, "detail": text}).encode()
    await send({"type": "http.response.start", "status": 429,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"retry-after", str(max(1, math.ceil(wait))).encode())]})
    await send({"type": "http.response.body", "body": body})


def app_kwargs() -> dict[str, Any]:
    """For `demo.launch(app_kwargs=...)` / `gr.mount_gradio_app(..., app_kwargs=...)`."""
    from starlette.middleware import Middleware

    return {"middleware": [Middleware(ApiRateLimit)]}
