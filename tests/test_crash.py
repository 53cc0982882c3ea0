"""Crash-proof runs: SIGKILL the trainer at random moments, resume each time.

The run must reach its final step; every checkpoint that exists is whole (loads, with its
training state); at most one checkpoint interval of work is lost per kill; metrics.jsonl stays
readable (a torn last line is tolerated, and repaired on resume)."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gan_core.checkpoints import load_generator, load_training_state
from gan_core.runs import RunDir

ROOT = Path(__file__).resolve().parents[1]
STEPS, CKPT_EVERY, KILLS = 500, 20, 10


def start(out: Path, resume: bool) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "gan_core.train", "--dataset", "mnist", "--model", "acgan", "--image-size", "32",
           "--steps", str(STEPS), "--batch-size", "8", "--ngf", "8", "--ndf", "8", "--nz", "16", "--device", "cpu",
           "--threads", "1", "--out", str(out), "--log-every", "1", "--sample-every", "10",
           "--ckpt-every", str(CKPT_EVERY), "--quiet"]
    if resume:
        cmd.append("--resume")
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def last_step(run: RunDir) -> int:
    rows = run.read_metrics()
    return rows[-1]["step"] if rows else 0


@pytest.mark.slow
def test_sigkill_ten_times_then_finish(tmp_path: Path) -> None:
    rng = random.Random(1234)
    run = RunDir(tmp_path / "run")
    kills = 0
    losses = []
    while kills < KILLS:
        proc = start(run.path, resume=run.exists())
        # wait until this process is really training, then kill it at a random moment
        deadline = time.time() + 120
        begin = last_step(run)
        while time.time() < deadline and proc.poll() is None and last_step(run) <= begin:
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read()
        # a random moment: after 1-40 more steps (whatever the machine's speed), plus jitter
        target = last_step(run) + rng.randint(1, 40)
        while proc.poll() is None and last_step(run) < target:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.05))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        kills += 1
        logged = last_step(run)  # steps whose metrics reached disk before the kill
        assert run.has_checkpoint("latest") or logged < CKPT_EVERY + 1
        if run.has_checkpoint("latest"):
            _, _, meta = load_generator(run.checkpoint("latest"))  # whole, never half-written
            state = load_training_state(run.checkpoint("latest"))
            assert state["step"] == meta["step"]
            losses.append(logged - meta["step"])
            assert logged - meta["step"] <= CKPT_EVERY, (logged, meta["step"])
        assert run.state() == "failed"  # 'running' with a dead pid reads as failed
        if logged >= STEPS:
            break
    proc = start(run.path, resume=True)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert run.read_status()["state"] == "finished"
    rows = run.read_metrics()
    steps = [r["step"] for r in rows]
    assert steps == sorted(set(steps)) and steps[-1] == STEPS  # repaired: no duplicates, in order
    with open(run.metrics_path) as fh:
        assert all(json.loads(line) for line in fh)  # every line whole after the repair
    _, _, meta = load_generator(run.checkpoint("latest"))
    assert meta["step"] == STEPS and kills == KILLS, (kills, losses)
    assert not list(run.checkpoints_dir.glob(".*tmp*"))
