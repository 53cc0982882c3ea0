"""ui/rate_limit.py: per-client token buckets, and the middleware answering over-rate calls to the
named API with 429 before they reach Gradio's queue (other clients and private events unaffected)."""

from __future__ import annotations

import asyncio
import json
import time
from types import SimpleNamespace
from typing import Any

import pytest

from ui.rate_limit import ApiRateLimit, TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_burst_then_the_rate_per_client() -> None:
    clock = Clock()
    b = TokenBuckets(rate=2.0, burst=3, clock=clock)
    assert [b.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = b.take("a")
    assert wait == pytest.approx(0.5)  # one token comes back every 1/rate s
    assert b.take("b") == 0.0  # another client is not affected
    clock.t += 0.5
    assert b.take("a") == 0.0 and b.take("a") > 0
    clock.t += 100
    assert [b.take("a") for _ in range(4)].count(0.0) == 3  # refilled up to the burst, not beyond


def test_refused_requests_do_not_spend_tokens_and_old_clients_are_forgotten() -> None:
    clock = Clock()
    b = TokenBuckets(rate=1.0, burst=1, max_keys=2, clock=clock)
    assert b.take("a") == 0.0
    for _ in range(50):  # hammering does not push the next allowed request further away
        assert b.take("a") == pytest.approx(1.0)
    clock.t += 1.0
    assert b.take("a") == 0.0
    b.take("b"), b.take("c")  # a third client: the least recently seen ("a") is dropped
    assert "a" not in b._buckets and len(b._buckets) == 2


@pytest.mark.parametrize("rate,burst", [(0, 1), (1, 0), (-1, 5)])
def test_bad_limits_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        TokenBuckets(rate, burst)


# -- the middleware, with a stand-in Gradio app ---------------------------------------------
class FakeGradio:
    """What the middleware reads from a Gradio app: get_blocks().fns, and an ASGI app that echoes
    the body it received."""

    def __init__(self) -> None:
        fns = {0: SimpleNamespace(api_name="render", api_visibility="public"),
               1: SimpleNamespace(api_name="slider", api_visibility="private")}
        self.blocks = SimpleNamespace(fns=fns)
        self.bodies: list[bytes] = []

    def get_blocks(self) -> Any:
        return self.blocks

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def call(mw: ApiRateLimit, app: FakeGradio, path: str, client: str, body: bytes = b"{}",
         method: str = "POST") -> tuple[int, dict, bytes]:
    scope = {"type": "http", "method": method, "path": path, "client": (client, 1234), "app": app}
    chunks = [body[:3], body[3:]]  # a body in two pieces, as a server may deliver it

    async def receive() -> dict:
        piece = chunks.pop(0)
        return {"type": "http.request", "body": piece, "more_body": bool(chunks)}

    sent: list[dict] = []

    async def send(msg: dict) -> None:
        sent.append(msg)

    asyncio.run(mw(scope, receive, send))
    start = sent[0]
    return start["status"], dict(start.get("headers", [])), b"".join(m.get("body", b"") for m in sent[1:])


@pytest.fixture
def gradio() -> tuple[ApiRateLimit, FakeGradio]:
    app = FakeGradio()
    return ApiRateLimit(app, TokenBuckets(rate=0.001, burst=2)), app


@pytest.mark.parametrize("path", ["/gradio_api/call/render", "/gradio/gradio_api/call/render",
                                  "/gradio_api/call/v2/render", "/gradio_api/run/render", "/gradio_api/api/render/"])
def test_named_endpoints_are_limited_per_client_before_the_queue(gradio, path: str) -> None:
    mw, app = gradio
    assert [call(mw, app, path, "10.0.0.1")[0] for _ in range(2)] == [200, 200]
    status, headers, body = call(mw, app, path, "10.0.0.1")
    assert status == 429 and int(headers[b"retry-after"]) >= 1
    assert "Too many requests" in json.loads(body)["error"] and "per client" in json.loads(body)["detail"]
    assert len(app.bodies) == 2  # the refused call never reached the app
    assert call(mw, app, path, "10.0.0.2")[0] == 200  # another client keeps going


def test_queue_joins_are_limited_by_the_endpoint_they_name_and_reach_the_app_intact(gradio) -> None:
    mw, app = gradio
    render = json.dumps({"data": [1, 2], "fn_index": 0, "session_hash": "s"}).encode()
    slider = json.dumps({"data": [3], "fn_index": 1, "session_hash": "s"}).encode()
    assert [call(mw, app, "/gradio_api/queue/join", "c", render)[0] for _ in range(3)] == [200, 200, 429]
    assert app.bodies == [render, render]  # passed on byte for byte
    for _ in range(5):  # the panel's private events (its own page) are not limited
        assert call(mw, app, "/gradio_api/queue/join", "c", slider)[0] == 200
    assert call(mw, app, "/gradio_api/queue/join", "c", b"not json")[0] == 200  # Gradio answers that itself


def test_programs_on_the_servers_own_computer_are_not_limited(gradio) -> None:
    """A loopback address is this computer (benchmarks, scripts); behind a local proxy that sends
    X-Forwarded-For, the server sees the remote address instead (uvicorn, FORWARDED_ALLOW_IPS)."""
    mw, app = gradio
    for host in ("127.0.0.1", "::1"):
        assert [call(mw, app, "/gradio_api/call/render", host)[0] for _ in range(5)] == [200] * 5


def test_other_requests_pass_untouched(gradio) -> None:
    mw, app = gradio
    for _ in range(5):
        assert call(mw, app, "/gradio_api/call/render/abc123", "c", method="GET")[0] == 200  # the result stream
        assert call(mw, app, "/gradio_api/call/unknown", "c")[0] == 200  # not a public endpoint
        assert call(mw, app, "/gradio_api/upload", "c")[0] == 200


def test_a_real_gradio_app_answers_a_flood_with_429(monkeypatch: pytest.MonkeyPatch) -> None:
    """The middleware installed the way gradio_app.py and ui/server.py do (app_kwargs)."""
    import gradio as gr
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from ui import rate_limit

    monkeypatch.setenv("GAN_STUDIO_API_RATE", "0.01")
    monkeypatch.setenv("GAN_STUDIO_API_BURST", "2")

    def echo(x: str) -> str:
        return x

    with gr.Blocks() as demo:
        gr.api(echo, api_name="echo")
    host = FastAPI()
    gr.mount_gradio_app(host, demo, path="/gradio", app_kwargs=rate_limit.app_kwargs())
    with TestClient(host) as client:
        codes = [client.post("/gradio/gradio_api/call/echo", json={"data": ["hi"]}).status_code for _ in range(4)]
        assert codes == [200, 200, 429, 429]
        refused = client.post("/gradio/gradio_api/call/echo", json={"data": ["hi"]})
        assert "Too many requests" in refused.json()["error"]


def test_a_client_with_too_many_waiting_requests_is_refused_until_they_are_answered(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The pending cap reads a real Gradio queue: a slow endpoint, one call at a time."""
    import threading

    import gradio as gr
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from ui import rate_limit

    monkeypatch.setenv("GAN_STUDIO_API_PENDING", "2")
    release = threading.Event()

    def slow(x: str) -> str:
        release.wait(20)
        return x

    with gr.Blocks() as demo:
        gr.api(slow, api_name="slow", concurrency_limit=1)
    demo.queue()
    host = FastAPI()
    gr.mount_gradio_app(host, demo, path="/gradio", app_kwargs=rate_limit.app_kwargs())
    with TestClient(host) as client:
        post = lambda: client.post("/gradio/gradio_api/call/slow", json={"data": ["x"]})  # noqa: E731
        assert [post().status_code for _ in range(2)] == [200, 200]
        refused = post()
        assert refused.status_code == 429 and "2 of them are still waiting" in refused.json()["error"]
        release.set()
        deadline = time.monotonic() + 20
        while (code := post().status_code) == 429 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert code == 200
