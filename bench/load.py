"""Load for the benchmarks: a one-thread training running beside a latency benchmark, so the
figures show the app under load; and `python -m bench flood`, the explorer API's per-client
rate limit with one client flooding beside 16 others (FLOOD_DOC)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Sequence

from gan_core.runs import RunDir

ROOT = Path(__file__).resolve().parents[1]

DEFAULT_ARGS = ("--dataset", "mnist", "--model", "dcgan", "--image-size", "32", "--batch-size", "64",
                "--steps", "1000000", "--log-every", "5", "--sample-every", "100000",
                "--ckpt-every", "100000")


class TrainingLoad:
    """`with TrainingLoad(): ...` runs a one-thread training beside the block, stopped cleanly after it.

    It waits until status.json says running with step > 0, so the load is real when timing starts.
    """

    def __init__(self, args: Sequence[str] = DEFAULT_ARGS, threads: int = 1, timeout_s: float = 180.0):
        self.args, self.threads, self.timeout_s = list(args), threads, timeout_s
        self.proc: subprocess.Popen[bytes] | None = None
        self.tmp: Path | None = None
        self.steps_at_start = 0

    def __enter__(self) -> "TrainingLoad":
        self.tmp = Path(tempfile.mkdtemp(prefix="gan-bench-train-"))
        run = self.tmp / "run"
        cmd = [sys.executable, "-m", "gan_core.train", *self.args, "--threads", str(self.threads),
               "--device", "cpu", "--out", str(run), "--quiet"]
        env = dict(os.environ, OMP_NUM_THREADS=str(self.threads))
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                                     cwd=ROOT)
        rd = RunDir(run)
        t0 = time.monotonic()
        while time.monotonic() - t0 < self.timeout_s:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode("utf-8", "replace") if self.proc.stderr else ""
                raise RuntimeError(f"the training for the benchmark exited early: {err.strip()[-400:]}")
            status = rd.read_status() if rd.status_path.is_file() else {}
            if status.get("state") == "running" and int(status.get("step") or 0) > 0:
                self.steps_at_start = int(status["step"])
                return self
            time.sleep(0.25)
        self.__exit__(None, None, None)
        raise RuntimeError(f"the training for the benchmark did not start within {self.timeout_s:.0f} s")

    def steps(self) -> int:
        """Steps taken so far (to show the training really ran during the measurement)."""
        if self.tmp is None:
            return 0
        status = RunDir(self.tmp / "run").read_status()
        return int(status.get("step") or 0)

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        stop_process(self.proc, signal.SIGTERM, 30.0)
        if self.proc is not None and self.proc.stderr:
            self.proc.stderr.close()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)


def stop_process(proc: "subprocess.Popen[Any] | None", sig: int, timeout: float) -> None:
    """Ask a child to stop with `sig`; kill it if it has not exited after `timeout` seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# -- `python -m bench flood`: the explorer API's per-client rate limit under a flood ----------------
FLOOD_DOC = """16 clients x 50 /render, without and then with one client flooding beyond its rate.

Starts `python gradio_app.py` (bench.http.PanelServer) with the API's limits of ui/quotas.py
(rate, burst and waiting requests per client; --rate and --burst override the first two).
Each client is a keep-alive HTTP
connection sending its own X-Forwarded-For address, as clients behind a reverse proxy do (the
server trusts loopback as its proxy, uvicorn's default). Phase "quiet": the clients alone; phase
"flood": the same clients while one more address sends `--flood-rate` requests per second on
`--flood-connections` connections from a separate process. Reported: p50/p95 of the clients'
calls in each phase and the p95 ratio (goal <= 1.5x), the clients' errors, the flooder's answers
(accepted, refused with 429 and a readable line, anything else) and the server errors (HTTP 5xx or
failed events) over both phases (goal 0). With --rounds N the phases alternate N times (quiet,
flood, quiet, flood, ...), requests/N calls per client each time, and each phase's figures pool
its rounds, so a busy spell of the machine falls on both."""

P95_RATIO_GOAL = 1.5


def forwarded_client(port: int, address: str, timeout: float = 60.0) -> Any:
    """A bench.http.RawClient whose every request says it comes from `address` (X-Forwarded-For)."""
    import http.client as hc

    from .http import RawClient

    class Forwarded(RawClient):
        def _request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
            headers = {"X-Forwarded-For": address}
            if body is not None:
                headers["Content-Type"] = "application/json"
            for attempt in (0, 1):  # a keep-alive connection the server closed: reconnect once
                try:
                    self.conn.request(method, path, body=body, headers=headers)
                    resp = self.conn.getresponse()
                    return resp.status, resp.read()
                except (hc.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                    self.conn.close()
                    self.conn = hc.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                    if attempt:
                        raise
            raise RuntimeError("unreachable")

    return Forwarded(port, timeout=timeout)


def _clients(port: int, name: str, clients: int, requests: int, seed0: int) -> tuple[list[float], list[str]]:
    """`clients` threads, each its own address and connection, `requests` /render calls each:
    (latencies in ms, errors)."""
    import threading

    lat: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def worker(k: int) -> None:
        client = forwarded_client(port, f"10.1.0.{k + 1}")
        mine, errs = [], []
        start.wait()
        for i in range(requests):
            try:
                ms, _, _ = client.call("render", [name, seed0 + k * requests + i, -1, 1.0])
                mine.append(ms)
            except Exception as e:  # counted, never fatal
                errs.append(f"{type(e).__name__}: {e}")
        client.close()
        with lock:
            lat.extend(mine)
            errors.extend(errs)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat, errors


def _summary(clients: int, requests: int, lat: list[float], errors: list[str], wall_s: float) -> dict[str, Any]:
    from .timing import percentiles

    out: dict[str, Any] = {"clients": clients, "requests_each": requests, "errors": len(errors),
                           "server_errors": sum(1 for e in errors if "HTTP 5" in e or "answered error" in e),
                           "wall_s": round(wall_s, 2)}
    out.update(percentiles(lat) if lat else {"n": 0})
    if errors:
        out["first_error"] = errors[0][:300]
    return out


def _flooder(port: int, name: str, rate: float, connections: int, stop: Any, counts: Any) -> None:
    """A separate process: `connections` threads sending /render from one address at `rate`
    requests per second in all, until `stop` is set, without waiting for the images (a flood
    fills the queue; reading each result would pace it). counts: accepted into the queue,
    refused with 429, other answers, server errors (HTTP 5xx)."""
    import http.client as hc
    import threading

    every = connections / rate

    def worker(k: int) -> None:
        conn = hc.HTTPConnection("127.0.0.1", port, timeout=60)
        nxt = time.perf_counter()
        while not stop.is_set():
            body = json.dumps({"data": [name, 900_000 + k, -1, 1.0]}).encode()
            try:
                conn.request("POST", "/gradio_api/call/render", body=body,
                             headers={"Content-Type": "application/json", "X-Forwarded-For": "10.9.9.9"})
                resp = conn.getresponse()
                payload = resp.read()
                if resp.status == 429 and b"Too many requests" in payload:
                    _add(counts, 1)
                elif resp.status == 200 and b"event_id" in payload:
                    _add(counts, 0)  # queued: it renders whether or not anyone reads the result
                else:
                    _add(counts, 3 if resp.status >= 500 else 2)
            except (OSError, hc.HTTPException, ValueError):
                conn.close()
                conn = hc.HTTPConnection("127.0.0.1", port, timeout=60)
                _add(counts, 2)
            nxt += every
            pause = nxt - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            else:
                nxt = time.perf_counter()  # behind: go on at once, without a catch-up burst
        conn.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _cpu_s(proc: Any) -> float:
    """CPU seconds (user + system) a child process has used so far (0 without one, or off Linux)."""
    if proc is None:
        return 0.0
    try:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _add(counts: Any, i: int) -> None:
    with counts.get_lock():
        counts[i] += 1


def flood(checkpoint: str, clients: int = 16, requests: int = 50, flood_rate: float = 50.0,
          flood_connections: int = 2, rate: float | None = None, burst: int | None = None,
          warmup: int = 20, rounds: int = 10) -> dict[str, Any]:
    """The two phases against one server (see FLOOD_DOC); the figures as a dict."""
    import multiprocessing as mp

    from ui.quotas import Limits

    from .http import PanelServer
    from .timing import percentiles

    rate = Limits.api_rate if rate is None else rate
    burst = Limits.api_burst if burst is None else burst
    saved = {k: os.environ.get(k) for k in ("GAN_STUDIO_API_RATE", "GAN_STUDIO_API_BURST")}
    os.environ.update(GAN_STUDIO_API_RATE=str(rate), GAN_STUDIO_API_BURST=str(burst))
    try:
        with PanelServer(checkpoint) as server:
            for i in range(warmup):  # each from its own address: one fast client alone would pass the rate
                warm = forwarded_client(server.port, f"10.2.0.{i + 1}")
                warm.call("render", [server.name, i, -1, 1.0])
                warm.close()
            ctx = mp.get_context("spawn")
            stop, counts = ctx.Event(), ctx.Array("i", 4)
            phases: dict[str, list[Any]] = {"quiet": [[], [], 0.0], "flood": [[], [], 0.0]}
            cpu = {"quiet": [0.0, 0.0], "flood": [0.0, 0.0]}  # CPU seconds of the server, of the flooder
            per_round: dict[str, list[float | None]] = {}
            each = max(1, requests // rounds)
            for r in range(rounds):  # quiet, flood, quiet, flood...: the machine's slow spells fall on both
                for phase in ("quiet", "flood"):
                    proc = None
                    if phase == "flood":
                        stop.clear()
                        proc = ctx.Process(target=_flooder, args=(server.port, server.name, flood_rate,
                                                                  flood_connections, stop, counts), daemon=True)
                        proc.start()
                        sent = sum(counts)
                        end = time.monotonic() + 60
                        while sum(counts) < sent + 20 * flood_connections and time.monotonic() < end:
                            time.sleep(0.05)  # the flood is under way (and past its burst) before the clients start
                    t0, c0, f0 = time.perf_counter(), server.cpu_s() or 0.0, _cpu_s(proc)
                    seed0 = (r * 2 + (phase == "flood")) * 100_000
                    lat, errs = _clients(server.port, server.name, clients, each, seed0)
                    per_round.setdefault(phase, []).append(percentiles(lat)["p95_ms"] if lat else None)
                    phases[phase][0].extend(lat)
                    phases[phase][1].extend(errs)
                    phases[phase][2] += time.perf_counter() - t0
                    cpu[phase][0] += (server.cpu_s() or 0.0) - c0
                    cpu[phase][1] += _cpu_s(proc) - f0
                    if proc is not None:
                        stop.set()
                        proc.join(30)
            served, refused, other, server_errors = list(counts)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    quiet, flooded = (_summary(clients, each * rounds, *phases[k]) for k in ("quiet", "flood"))
    for k, x in (("quiet", quiet), ("flood", flooded)):  # what each phase cost, whatever else the machine ran
        x["server_cpu_ms_per_client_request"] = round(cpu[k][0] * 1000 / max(1, clients * each * rounds), 2)
        x["server_cpu_share"] = round(cpu[k][0] / max(phases[k][2], 1e-9), 3)
        x["flooder_cpu_share"] = round(cpu[k][1] / max(phases[k][2], 1e-9), 3)
    ratio = flooded["p95_ms"] / quiet["p95_ms"] if quiet.get("p95_ms") and flooded.get("p95_ms") else None
    result: dict[str, Any] = {
        "checkpoint": checkpoint, "limit": {"rate_per_s": rate, "burst": burst}, "rounds": rounds,
        "quiet": quiet, "flood": flooded, "p95_ms_per_round": per_round,
        "flooder": {"rate_per_s": flood_rate, "connections": flood_connections, "accepted": served,
                    "refused_429": refused, "other_errors": other, "server_errors": server_errors},
        "p95_ratio": round(ratio, 3) if ratio else None, "p95_ratio_goal": P95_RATIO_GOAL,
        "server_errors": quiet["server_errors"] + flooded["server_errors"] + server_errors}
    if hasattr(os, "getloadavg"):
        result["loadavg"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    result["met"] = bool(ratio and ratio <= P95_RATIO_GOAL and result["server_errors"] == 0
                         and not quiet["errors"] and not flooded["errors"] and refused > 0)
    return result


def flood_report(r: dict[str, Any]) -> str:
    q, f, fl = r["quiet"], r["flood"], r["flooder"]
    lines = [f"/render rate limit {r['limit']['rate_per_s']:g}/s per client (bursts of {r['limit']['burst']}), "
             f"checkpoint {r['checkpoint']}" + (f" (load average {r['loadavg']})" if r.get("loadavg") else "")]
    nan = float("nan")
    for label, x in (("quiet", q), ("flood", f)):
        lines.append(f"  {label:<6} {x['clients']} clients x {x['requests_each']}: "
                     f"p50 {x.get('p50_ms', nan):.1f} ms  p95 {x.get('p95_ms', nan):.1f} ms  errors {x['errors']}  "
                     f"({x['wall_s']} s; server CPU {x['server_cpu_ms_per_client_request']:.1f} ms per client request, "
                     f"busy {x['server_cpu_share']:.0%} of a core; flooder busy {x['flooder_cpu_share']:.0%})")
    lines.append(f"  flooder ({fl['rate_per_s']:g} req/s on {fl['connections']} connections): "
                 f"accepted {fl['accepted']}, refused with 429 {fl['refused_429']}, other errors {fl['other_errors']}")
    lines.append("  p95 per round (ms): " + "; ".join(
        f"{k} " + " ".join(f"{v:.0f}" for v in vs if v is not None) for k, vs in r["p95_ms_per_round"].items()))
    ratio = r["p95_ratio"]
    lines.append(f"  p95 with / without the flood: {ratio if ratio is not None else 'n/a'}x "
                 f"(goal <= {r['p95_ratio_goal']}x); server errors {r['server_errors']} (goal 0): "
                 + ("met" if r["met"] else "NOT met"))
    for x in (q, f):
        if x.get("first_error"):
            lines.append(f"  first client error: {x['first_error']}")
    return "\n".join(lines)


def add_flood_arguments(p: Any) -> None:
    p.add_argument("--checkpoint", required=True, help="a checkpoint folder (served alone) or a catalogue name")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--requests", type=int, default=50, help="requests per client in each phase")
    p.add_argument("--flood-rate", type=float, default=50.0, help="the flooder's requests per second")
    p.add_argument("--flood-connections", type=int, default=2)
    p.add_argument("--rate", type=float, default=None, help="the server's limit per client (default: ui.quotas)")
    p.add_argument("--burst", type=int, default=None)
    p.add_argument("--rounds", type=int, default=10, help="quiet/flood phase pairs, each with requests/rounds calls")
    p.add_argument("--json", action="store_true")


def flood_cli(a: Any) -> int:
    try:
        r = flood(a.checkpoint, a.clients, a.requests, a.flood_rate, a.flood_connections, a.rate, a.burst,
                  rounds=a.rounds)
    except (RuntimeError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(r) if a.json else flood_report(r))
    return 0 if r["met"] else 1
