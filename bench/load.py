"""A one-thread training running beside a latency benchmark, so the figures show the app under load."""

from __future__ import annotations

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
