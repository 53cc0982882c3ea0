"""A per-client limit on the explorer's named API, applied before a request joins the queue.

Each client (the request's address, as the server sees it: uvicorn rewrites it from
X-Forwarded-For only when the direct peer is a trusted proxy, `FORWARDED_ALLOW_IPS`, loopback
by default) may have at most `api_pending` requests waiting or running in Gradio's queue, and
has a token bucket: `api_burst` requests at once, refilled at `api_rate` per second (ui.quotas).
A request to a public (named) endpoint over either limit is answered at once with HTTP 429, a
readable line and Retry-After; it never enters the queue. The rate caps a client's volume; the
pending cap keeps a flood from crowding the queue, whatever the server's speed: a client that
never waits for its answers holds no more places in the line than `api_pending` patient
clients would. The panel's own events (private, driven by its page) are not limited, and
neither are programs on the server's own computer (a client address on loopback: benchmarks,
scripts); a reverse proxy on the same computer must therefore send X-Forwarded-For, or every
client behind it counts as local.

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

from .site_config import is_loopback

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


def too_many_pending(pending: int) -> str:
    return (f"Too many requests from your address: {pending} of them are still waiting for an answer. "
            "Wait for their results before sending more.")


class ApiRateLimit:
    """ASGI middleware: the per-client limits on the public endpoints of the Gradio app it wraps."""

    def __init__(self, app: Callable[..., Awaitable[None]], buckets: TokenBuckets | None = None,
                 max_pending: int | None = None):
        self.app = app
        self._buckets = buckets
        self._max_pending = max_pending

    def _settings(self) -> None:  # read on the first request, not at import
        from .quotas import limits

        lim = limits()
        if self._buckets is None:
            self._buckets = TokenBuckets(lim.api_rate, lim.api_burst)
        if self._max_pending is None:
            self._max_pending = lim.api_pending

    @property
    def buckets(self) -> TokenBuckets:
        if self._buckets is None:
            self._settings()
        return self._buckets  # type: ignore[return-value]

    @property
    def max_pending(self) -> int:
        if self._max_pending is None:
            self._settings()
        return self._max_pending  # type: ignore[return-value]

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
        client = str((scope.get("client") or ("unknown", 0))[0])
        if limited and not is_loopback(client):
            pending = pending_events(scope, client)
            if pending >= self.max_pending:
                await _too_many(send, too_many_pending(pending), 1.0)
                return
            wait = self.buckets.take(client)
            if wait:
                await _too_many(send, refusal(wait, self.buckets.rate, self.buckets.burst), wait)
                return
        await self.app(scope, receive, send)


def pending_events(scope: Scope, client: str) -> int:
    """Events of public endpoints from `client` waiting in or running on the app's queue. Reads
    Gradio's queue (its `_queue` of the pinned Gradio 6.31; tests/test_rate_limit.py checks it
    against a real app); 0 when that is not there."""
    try:
        queue = scope["app"].get_blocks()._queue
        waiting = [e for q in list(queue.event_queue_per_concurrency_id.values()) for e in list(q.queue)]
        running = [e for job in list(queue.active_jobs) if job for e in job]
    except (KeyError, AttributeError, ValueError, TypeError):
        return 0
    return sum(1 for e in waiting + running if _client_of(e) == client and _is_public(e))


def _client_of(event: Any) -> str | None:
    try:
        return str(event.request.client.host)
    except AttributeError:
        return None


def _is_public(event: Any) -> bool:
    return getattr(getattr(event, "fn", None), "api_visibility", None) == "public"


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


async def _too_many(send: Send, text: str, wait: float) -> None:
    body = json.dumps({"error": text, "detail": text}).encode()
    await send({"type": "http.response.start", "status": 429,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"retry-after", str(max(1, math.ceil(wait))).encode())]})
    await send({"type": "http.response.body", "body": body})


def app_kwargs() -> dict[str, Any]:
    """For `demo.launch(app_kwargs=...)` / `gr.mount_gradio_app(..., app_kwargs=...)`."""
    from starlette.middleware import Middleware

    return {"middleware": [Middleware(ApiRateLimit)]}
