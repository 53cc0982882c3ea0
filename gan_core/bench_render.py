"""Render-service latency: p50/p95 per image on 1 thread, idle and while a training runs.

    python -m gan_core.bench_render --checkpoint DIR [--n 300] [--no-train] [--json]

Times `RenderService.render(seed)` (generator forward + uint8 conversion) for one image at a
time on one thread, and the same plus a PNG encode (what a UI sends). "While training" starts
`python -m gan_core.train` on one thread (the other core) in a temporary run directory and
measures once it is taking steps. Prints figures; it asserts nothing (targets: p95 <= 10 ms
for one 64 px image, idle and while training).
"""

from __future__ import annotations

import argparse
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
from typing import Any, Callable, Sequence

from .errors import GanStudioError
from .runs import RunDir

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
                                     cwd=Path(__file__).resolve().parents[1])
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


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between ranks (NumPy's default)."""
    s = sorted(samples)
    if not s:
        return float("nan")
    x = (len(s) - 1) * q / 100.0
    lo = int(x)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (x - lo)


def percentiles(samples_ms: Sequence[float]) -> dict[str, float]:
    """n, p50, p95, mean and max of latencies in milliseconds (rounded to 0.01 ms)."""
    return {"n": len(samples_ms), "p50_ms": round(percentile(samples_ms, 50), 2),
            "p95_ms": round(percentile(samples_ms, 95), 2),
            "mean_ms": round(sum(samples_ms) / max(1, len(samples_ms)), 2),
            "max_ms": round(max(samples_ms, default=float("nan")), 2)}


def time_calls(fn: Callable[[int], Any], n: int, warmup: int = 10, start: int = 0
               ) -> tuple[list[float], list[float]]:
    """(wall ms, this thread's CPU ms) per call of fn(i) for n calls, after `warmup` untimed calls.

    CPU time leaves out the time the thread waited for a core, so it tells the cost of a render
    apart from the machine being busy with other processes.
    """
    for i in range(warmup):
        fn(start + i)
    wall, cpu = [], []
    for i in range(n):
        c0, t0 = time.thread_time(), time.perf_counter()
        fn(start + warmup + i)
        wall.append((time.perf_counter() - t0) * 1000.0)
        cpu.append((time.thread_time() - c0) * 1000.0)
    return wall, cpu


def _figures(wall: list[float], cpu: list[float]) -> dict[str, float]:
    out = percentiles(wall)
    out["cpu_p50_ms"] = round(percentile(cpu, 50), 2)
    return out


def measure(svc: Any, n: int, warmup: int) -> dict[str, dict[str, float]]:
    from .images import encode_png

    return {"render": _figures(*time_calls(svc.render, n, warmup)),
            "render+png": _figures(*time_calls(lambda s: encode_png(svc.render(s)), n, warmup, start=10_000))}


def run(checkpoint: str | Path, n: int = 300, warmup: int = 20, train: bool = True,
        train_args: Sequence[str] = DEFAULT_ARGS) -> dict[str, Any]:
    from .render import RenderService

    svc = RenderService(checkpoint, threads=1)
    info = svc.info
    result: dict[str, Any] = {"checkpoint": str(checkpoint), "arch": info["arch"],
                              "image_size": info["image_size"], "threads": 1,
                              "idle": measure(svc, n, warmup)}
    if hasattr(os, "getloadavg"):  # how busy the machine was (other processes skew wall times)
        result["loadavg"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    if train:
        with TrainingLoad(train_args) as load:
            result["training"] = measure(svc, n, warmup)
            result["training"]["train_steps_during"] = load.steps() - load.steps_at_start
    return result


def report(result: dict[str, Any]) -> str:
    lines = [f"render service: {result['arch']} {result['image_size']} px, 1 thread, one image per call "
             f"(load average {result['loadavg']})" if result.get("loadavg") else
             f"render service: {result['arch']} {result['image_size']} px, 1 thread, one image per call"]
    for phase in ("idle", "training"):
        if phase not in result:
            continue
        for what in ("render", "render+png"):
            r = result[phase][what]
            lines.append(f"  {phase:<8} {what:<11} p50 {r['p50_ms']:6.2f} ms  p95 {r['p95_ms']:6.2f} ms  "
                         f"mean {r['mean_ms']:6.2f} ms  max {r['max_ms']:6.2f} ms  "
                         f"(CPU p50 {r['cpu_p50_ms']:.2f} ms, n={r['n']})")
        if phase == "training":
            lines.append(f"  (the training took {result['training']['train_steps_during']} steps meanwhile)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m gan_core.bench_render", description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True, help="checkpoint folder (or run directory)")
    p.add_argument("--n", type=int, default=300, help="timed renders per phase")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--no-train", action="store_true", help="measure idle only")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    a = p.parse_args(argv)
    try:
        result = run(a.checkpoint, n=a.n, warmup=a.warmup, train=not a.no_train)
    except (GanStudioError, RuntimeError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result) if a.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
