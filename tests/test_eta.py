"""The time estimate (python -m gan_core.train --dry-run --json) counts what the real loop pays
(steps after warm-up, sample grids, checkpoints, metrics rows, judge runs); the Monitor's progress
and ETA follow a time budget (issue 15: progress = the larger share, ETA = the sooner end)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import write_image_folder

from gan_core import train
from gan_core.train import due_count
from ui.live import progress_with_budget


def brute_due(steps: int, *every: int) -> int:
    return sum(1 for s in range(1, steps + 1) if s == steps or any(e and s % e == 0 for e in every))


@pytest.mark.parametrize("steps,every", [(300, (25,)), (301, (25,)), (1000, (25, 250, 500)), (7, (0,)),
                                         (1000, (3, 7, 11)), (12, (5, 0, 4)), (1, (100,)), (500, (500, 500))])
def test_due_count_matches_a_step_by_step_count(steps: int, every: tuple[int, ...]) -> None:
    assert due_count(steps, *every) == brute_due(steps, *every)
    assert due_count(0, 5) == 0


def test_the_dry_run_estimates_steps_and_the_loops_periodic_work(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    data = write_image_folder(tmp_path / "set", {"a": 6, "b": 6})
    rc = train.main(["--dataset", str(data), "--preset", "Tiny smoke test", "--steps", "100", "--sample-every", "10",
                     "--ckpt-every", "50", "--log-every", "5", "--threads", "1", "--out", str(tmp_path / "run"),
                     "--dry-run", "--json", "--calibration-steps", "3", "--calibration-seconds", "0"])
    assert rc == 0
    est = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert not (tmp_path / "run").exists()  # a dry run writes no run
    assert est["warmup_steps"] >= 2 and est["timed_steps"] >= 3
    assert est["train_s"] == pytest.approx(est["ms_per_step"] / 1000 * 100, rel=0.01, abs=0.1)
    o, per = est["overhead"], est["per_event_s"]
    assert o["samples_s"] > 0 and o["checkpoints_s"] > 0 and o["logs_s"] > 0 and o["judge_s"] == 0
    assert o["checkpoints_s"] == pytest.approx(2 * per["checkpoint"], rel=0.05, abs=0.02)  # steps 50 and 100
    assert est["eta_s"] == pytest.approx(est["train_s"] + est["overhead_s"], abs=0.15)
    assert est["threads"] == 1 and est["budget_s"] is None


def test_a_judged_dry_run_reads_the_dataset_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The dry run times the judge on the images it loaded: it decoded an upload a second time
    and printed the loader's warnings twice."""
    data = write_image_folder(tmp_path / "set", {"": 12})
    (data / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not the rest of a picture")
    rc = train.main(["--dataset", str(data), "--preset", "Tiny smoke test", "--eval-every", "100", "--threads", "1",
                     "--out", str(tmp_path / "run"), "--dry-run", "--json", "--calibration-steps", "2",
                     "--calibration-seconds", "0"])
    assert rc == 0
    err = capsys.readouterr().err
    assert err.count("broken.png") == 1, err
    assert "label-free embedding" in err  # the judge was set up (an unlabelled set: no judge to train)


def test_a_time_budget_caps_the_estimate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_image_folder(tmp_path / "set", {"": 8})
    train.main(["--dataset", str(data), "--preset", "Tiny smoke test", "--steps", "10000000", "--minutes", "0.5",
                "--threads", "1", "--out", str(tmp_path / "run"), "--dry-run", "--json", "--calibration-steps", "2",
                "--calibration-seconds", "0"])
    est = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert est["budget_s"] == 30.0 and est["eta_s"] == 30.0 < est["loop_s"]


def test_progress_without_a_budget_is_the_steps_share() -> None:
    p = progress_with_budget(250, 1000, 90.0, 0.0, 1000.0, now=1100.0)
    assert (p.fraction, p.eta_s, p.by_budget) == (0.25, 90.0, False)


def test_a_budget_that_ends_first_sets_progress_and_eta() -> None:
    # 10 min budget, 6 min spent: 60% of the time, 25% of the steps, 4 min left before the steps' 30 min
    p = progress_with_budget(250, 1000, 1800.0, 10.0, loop_started=1000.0, now=1360.0)
    assert p.fraction == pytest.approx(0.6) and p.eta_s == pytest.approx(240.0) and p.by_budget


def test_steps_that_end_first_keep_their_eta() -> None:
    p = progress_with_budget(900, 1000, 60.0, 60.0, loop_started=1000.0, now=1300.0)
    assert p.fraction == pytest.approx(0.9) and p.eta_s == 60.0 and not p.by_budget


def test_a_spent_budget_reads_full_and_zero() -> None:
    p = progress_with_budget(10, 1000, None, 1.0, loop_started=0.0, now=500.0)
    assert (p.fraction, p.eta_s, p.by_budget) == (1.0, 0.0, True)


def test_the_monitor_shows_the_budgets_progress_and_eta(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import time

    from app_helpers import isolate_home, opened, tiny_config

    from gan_core.runs import RunDir

    home = isolate_home(tmp_path, monkeypatch)
    rd = RunDir(home / "runs" / "budgeted")
    rd.create(tiny_config("mnist", steps=1000, minutes=10.0))
    now = time.time()
    rd.write_app_meta({"title": "budgeted", "created": now - 300,
                       "launches": [{"pid": os.getpid(), "at": now - 300, "kind": "start", "steps": 1000}]})
    # 100 of 1,000 steps after 5 of the budget's 10 minutes: the budget ends first
    rd.write_status("running", pid=os.getpid(), step=100, total_steps=1000, eta_s=4000.0, loop_started=now - 300)
    at = opened("pages/monitor.py", run="budgeted")
    bar = at.get("progress")[0].proto
    assert 50 <= bar.value <= 65  # the time's share (the steps' share is 10%); slack for a slow test machine
    assert "(time limit)" in bar.text and re.search(r"ETA [345] min", bar.text), bar.text  # about 5 min left, not 66
