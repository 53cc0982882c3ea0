"""A recipe that fails naturally, run through the CLI with --guard: the guard catches it, rolls
back, applies the named remedy, and the run ends with a verdict (never a traceback, never a silent
finish).

The recipe: the automatic preset's class-conditional R3GAN on MNIST without its mode-seeking term
(`--preset auto --mode-seeking 0`). Unguarded, its generator ignores z from its first logs: its
samples vary across classes (diversity 0.6-0.8 of real digits') but within a class only 0.24-0.35
as much as real digits do (tests/guard_streams/failing/r3gan_mnist_auto_ms0_log25.jsonl, recorded
from it): about one picture per class. Guarded, the rule for collapse within the classes fires on
the third log, the run goes back to step 0 with the mode-seeking term on, and the rescue holds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gan_core.guard_rules import Rules

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_one_picture_per_class_is_caught_and_the_mode_seeking_term_turned_on(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "gan_core.train", "--dataset", "mnist", "--preset", "auto", "--mode-seeking", "0",
         "--steps", "100", "--log-every", "20", "--guard", "--device", "cpu", "--threads", "2", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr + proc.stdout
    events = [json.loads(ln) for ln in (out / "events.jsonl").read_text().splitlines()]
    caught = events[0]
    assert caught["kind"] == "collapse" and caught["action"] == "roll back" and caught["to_step"] == 0
    # the third log (60) completes the first possible streak; a machine whose first log still reads
    # above the floor (its numerics differ) completes it one log later
    assert caught["step"] in (60, 80) and "within each class" in caught["rule"]
    assert all(v < Rules().class_floor for v in caught["evidence"]["class_diversity"])
    assert min(caught["evidence"]["diversity"]) > 0.3  # the classes differ: only the within-class measure sees it
    assert caught["changes"] == {"train.mode_seeking": Rules().ms_on}
    assert json.loads((out / "config.json").read_text())["train"]["mode_seeking"] == Rules().ms_on  # a resume keeps it
    assert [e["kind"] for e in events[1:]] == ["held", "verdict"]
    rows = [json.loads(ln) for ln in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in rows]  # a log every 20 steps, and a row at each judgement over the decay (60 to 100)
    # the rolled-back logs were replaced ...
    assert steps == sorted(set(steps)) and [s for s in steps if s % 20 == 0] == [20, 40, 60, 80, 100]
    assert all(r["class_diversity"] >= Rules().class_floor for r in rows)  # ... by what the guard read after
    verdict = events[-1]
    assert verdict["evidence"]["class_diversity"] >= Rules().class_floor
    assert f"the last, at step 100: {verdict['text']}" in proc.stdout + proc.stderr  # the exit message names it
