"""`python -m bench http`: HTTP latency of the panel's /render endpoint, timed with raw HTTP on loopback.

    python -m bench http --checkpoint DIR|NAME [--n 200] [--clients 16 --requests 50]
                         [--no-train] [--no-load] [--json]

Starts `python gradio_app.py` on a free loopback port as a subprocess and times the minimal
exchange Gradio 6 offers for a named, queued endpoint (the one `gradio_client` uses, without
its ~65 ms of client overhead):

    POST /gradio_api/call/render  {"data": [checkpoint, seed, class_index, truncation]}
         -> {"event_id": ...}
    GET  /gradio_api/call/render/<event_id>
         -> text/event-stream, ends with "event: complete" (or "event: error") and the image URL

over one keep-alive connection per client. Each figure is also given with the PNG fetched
(GET of the returned URL), which is what a browser waits for. Phases: idle, while a one-thread
training runs, and a load test (16 concurrent clients x 50 requests while training; every
request must complete, errors are counted). Uses only the standard library and subprocesses.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import urlsplit

from .load import DEFAULT_ARGS, ROOT, TrainingLoad, stop_process
from .timing import percentiles

API = "/gradio_api"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RawClient:
    """One keep-alive HTTP/1.1 connection speaking Gradio's call protocol.

    Like a browser tab or a `gradio_client.Client`, it sends one session hash for all its
    calls; without one, the server builds a fresh session state for every call.
    """

    def __init__(self, port: int, timeout: float = 30.0, session: bool = True, prefix: str = ""):
        self.port, self.timeout, self.prefix = port, timeout, prefix.rstrip("/")
        self.session_hash = secrets.token_hex(6) if session else None
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def _request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        for attempt in (0, 1):  # a keep-alive connection the server closed: reconnect once
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                return resp.status, resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                if attempt:
                    raise
        raise RuntimeError("unreachable")

    def call(self, api_name: str, data: list[Any], fetch: bool = False) -> tuple[float, float, Any]:
        """(ms for the call, ms including the image fetch, output data). Raises on any failure."""
        t0 = time.perf_counter()
        req: dict[str, Any] = {"data": data}
        if self.session_hash:
            req["session_hash"] = self.session_hash
        status, body = self._request("POST", f"{self.prefix}{API}/call/{api_name}",
                                     json.dumps(req).encode())
        if status != 200:
            raise RuntimeError(f"POST /call/{api_name}: HTTP {status} {body[:200]!r}")
        event_id = json.loads(body)["event_id"]
        status, stream = self._request("GET", f"{self.prefix}{API}/call/{api_name}/{event_id}")
        if status != 200:
            raise RuntimeError(f"GET /call/{api_name}/{event_id}: HTTP {status}")
        event, payload = parse_sse(stream)
        t1 = time.perf_counter()
        if event != "complete":
            raise RuntimeError(f"/{api_name} answered {event}: {str(payload)[:200]}")
        t2 = t1
        if fetch:
            url = payload[0]["url"]
            status, img = self._request("GET", urlsplit(url).path)
            if status != 200 or not img.startswith(b"\x89PNG"):
                raise RuntimeError(f"image fetch: HTTP {status}")
            t2 = time.perf_counter()
        return (t1 - t0) * 1000.0, (t2 - t0) * 1000.0, payload

    def close(self) -> None:
        self.conn.close()


def parse_sse(stream: bytes) -> tuple[str, Any]:
    """The last meaningful (event, data) pair of a finished event stream."""
    event, data = "none", None
    for block in stream.decode("utf-8", "replace").split("\n\n"):
        ev = re.search(r"^event: (.+)$", block, re.M)
        da = re.search(r"^data: (.*)$", block, re.M)
        if ev and ev.group(1) in ("complete", "error"):
            event = ev.group(1)
            data = json.loads(da.group(1)) if da else None
    return event, data


class PanelServer:
    """`python gradio_app.py` on a free port, with a catalogue holding the benchmark checkpoint."""

    def __init__(self, checkpoint: str, startup_timeout: float = 120.0):
        self.checkpoint, self.timeout = checkpoint, startup_timeout
        self.port = free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix="gan-bench-http-"))
        self.name = checkpoint
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "PanelServer":
        env = dict(os.environ, GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(self.port),
                   GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1")
        src = Path(self.checkpoint)
        if src.is_dir():  # a folder: serve it as the only shipped checkpoint
            self.name = re.sub(r"[^A-Za-z0-9._-]+", "-", src.absolute().name).strip("-.") or "bench"
            shipped = self.tmp / "shipped"
            shipped.mkdir()
            (shipped / self.name).symlink_to(src.resolve(), target_is_directory=True)
            env.update(GAN_STUDIO_SHIPPED=str(shipped), GAN_STUDIO_HOME=str(self.tmp / "home"))
        log = open(self.tmp / "server.log", "wb")
        self.proc = subprocess.Popen([sys.executable, "gradio_app.py"], cwd=ROOT, env=env,
                                     stdout=log, stderr=subprocess.STDOUT)
        t0 = time.monotonic()
        while time.monotonic() - t0 < self.timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gradio_app.py exited: {self.log()[-600:]}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/config")
                ok = c.getresponse().status == 200
                c.close()
                if ok:
                    return self
            except OSError:
                pass
            time.sleep(0.25)
        self.__exit__(None, None, None)
        raise RuntimeError(f"gradio_app.py did not answer within {self.timeout:.0f} s")

    def cpu_s(self) -> float | None:
        """CPU seconds (user + system) the server process has used so far (Linux /proc; else None)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError, AttributeError):
            return None

    def log(self) -> str:
        try:
            return (self.tmp / "server.log").read_text(errors="replace")
        except OSError:
            return ""

    def __exit__(self, *exc: Any) -> None:
        stop_process(self.proc, signal.SIGINT, 15.0)
        shutil.rmtree(self.tmp, ignore_errors=True)


def sequential(port: int, name: str, n: int, warmup: int, seed0: int) -> dict[str, Any]:
    """One client, n requests one after another (different seeds)."""
    client = RawClient(port)
    try:
        for i in range(warmup):
            client.call("render", [name, seed0 + i, -1, 1.0], fetch=True)
        call_ms, full_ms = [], []
        for i in range(n):
            a, b, _ = client.call("render", [name, seed0 + warmup + i, -1, 1.0], fetch=True)
            call_ms.append(a)
            full_ms.append(b)
    finally:
        client.close()
    return {"call": percentiles(call_ms), "call+image": percentiles(full_ms)}


def load_test(port: int, name: str, clients: int, requests: int) -> dict[str, Any]:
    """`clients` threads, each with its own connection, `requests` calls each, all at once."""
    lat: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def worker(k: int) -> None:
        client = RawClient(port, timeout=60)
        mine, errs = [], []
        start.wait()
        for i in range(requests):
            try:
                ms, _, _ = client.call("render", [name, 100_000 + k * requests + i, -1, 1.0])
                mine.append(ms)
            except Exception as e:  # counted, never fatal: the figure is the error count
                errs.append(f"{type(e).__name__}: {e}")
        client.close()
        with lock:
            lat.extend(mine)
            errors.extend(errs)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    out: dict[str, Any] = {"clients": clients, "requests_each": requests, "errors": len(errors),
                           "throughput_per_s": round(len(lat) / wall, 1), "wall_s": round(wall, 2)}
    out.update(percentiles(lat) if lat else {"n": 0})
    if errors:
        out["first_error"] = errors[0][:300]
    return out


def run(checkpoint: str, n: int = 200, warmup: int = 20, train: bool = True, load: bool = True,
        clients: int = 16, requests: int = 50, train_args: Sequence[str] = DEFAULT_ARGS,
        load_while_training: bool = True) -> dict[str, Any]:
    with PanelServer(checkpoint) as server:
        def phase(fn: Any, *args: Any) -> dict[str, Any]:
            """Run one phase and add the server's CPU time per request (contention-proof cost)."""
            c0 = server.cpu_s()
            out = fn(server.port, server.name, *args)
            c1 = server.cpu_s()
            count = out["n"] if "n" in out else out["call"]["n"] + args[1]  # sequential: + warmup
            if c0 is not None and c1 is not None and count:
                out["server_cpu_ms_per_request"] = round((c1 - c0) * 1000 / count, 2)
            return out

        result: dict[str, Any] = {"checkpoint": server.name, "endpoint": "/render",
                                  "protocol": "POST /gradio_api/call/render + GET event stream",
                                  "idle": phase(sequential, n, warmup, 0)}
        if hasattr(os, "getloadavg"):  # how busy the machine was (other processes skew the figures)
            result["loadavg"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        if train or (load and load_while_training):
            with TrainingLoad(train_args) as tl:
                if train:
                    result["training"] = phase(sequential, n, warmup, 50_000)
                if load:
                    result["load"] = phase(load_test, clients, requests)
                result["train_steps_during"] = tl.steps() - tl.steps_at_start
        elif load:
            result["load"] = phase(load_test, clients, requests)
            result["load"]["while_training"] = False
    return result


def report(r: dict[str, Any]) -> str:
    lines = [f"HTTP {r['endpoint']} on loopback ({r['protocol']}), checkpoint {r['checkpoint']}"
             + (f" (load average {r['loadavg']})" if r.get("loadavg") else "")]
    for phase in ("idle", "training"):
        if phase in r:
            for what in ("call", "call+image"):
                x = r[phase][what]
                lines.append(f"  {phase:<8} {what:<10} p50 {x['p50_ms']:6.1f} ms  p95 {x['p95_ms']:6.1f} ms  "
                             f"mean {x['mean_ms']:6.1f} ms  max {x['max_ms']:6.1f} ms  (n={x['n']})")
            if "server_cpu_ms_per_request" in r[phase]:
                lines.append(f"  {phase:<8} server CPU per request (with image fetch) "
                             f"{r[phase]['server_cpu_ms_per_request']:.1f} ms")
    if "load" in r:
        x = r["load"]
        during = "" if x.get("while_training") is False else " while training"
        lines.append(f"  load     {x['clients']} clients x {x['requests_each']} requests{during}: "
                     f"p50 {x.get('p50_ms', float('nan')):.1f} ms  p95 {x.get('p95_ms', float('nan')):.1f} ms  "
                     f"max {x.get('max_ms', float('nan')):.1f} ms  errors {x['errors']}  "
                     f"{x['throughput_per_s']} req/s")
        if "server_cpu_ms_per_request" in x:
            lines.append(f"  load     server CPU per request {x['server_cpu_ms_per_request']:.1f} ms")
        if x.get("first_error"):
            lines.append(f"  first error: {x['first_error']}")
    if "train_steps_during" in r:
        lines.append(f"  (the training took {r['train_steps_during']} steps meanwhile)")
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True,
                   help="a checkpoint folder (served alone) or the catalogue name of one")
    p.add_argument("--n", type=int, default=200, help="timed sequential requests per phase")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--requests", type=int, default=50, help="requests per client in the load test")
    p.add_argument("--no-train", action="store_true", help="skip the sequential phase while training")
    p.add_argument("--no-load", action="store_true", help="skip the load test")
    p.add_argument("--json", action="store_true")


def run_cli(a: argparse.Namespace) -> int:
    try:
        result = run(a.checkpoint, n=a.n, warmup=a.warmup, train=not a.no_train, load=not a.no_load,
                     clients=a.clients, requests=a.requests)
    except (RuntimeError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result) if a.json else report(result))
    return 1 if result.get("load", {}).get("errors") else 0
