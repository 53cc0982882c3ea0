"""gan_core/runs.py: the run folder's one reader and writer, and the one rule for a run's state."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gan_core.config import build_run_config
from gan_core.runs import ACTIVE_STATES, STATES, WRITTEN_STATES, RunDir, derive_state

ROOT = Path(__file__).resolve().parents[1]


def test_derive_state_from_status_launches_and_liveness() -> None:
    alive = {111}.__contains__
    launch = {"pid": 111, "at": 100.0, "kind": "start", "steps": 50}
    # launched, no status yet, process alive: loading data
    assert derive_state({}, {"launches": [launch]}, alive, True).state == "starting"
    # launched, process died before writing a status: failed
    assert derive_state({}, {"launches": [dict(launch, pid=222)]}, alive, True).state == "failed"
    # ... unless the user had asked it to stop
    st = derive_state({}, {"launches": [dict(launch, pid=222)], "stop_requested_at": 101}, alive, True)
    assert st.state == "stopped" and "before training" in st.note
    # a resume whose process is alive but has not written its status yet reads "starting", not the old state
    old = {"state": "stopped", "pid": 99, "updated": 90.0}
    st = derive_state(old, {"launches": [dict(launch, kind="resume")]}, alive, True)
    assert st.state == "starting" and "resum" in st.note and st.active
    running = {"state": "running", "pid": 111, "updated": 105.0}
    assert derive_state(running, {"launches": [launch]}, alive, True).state == "running"
    assert derive_state(running, {"launches": [launch], "stop_requested_at": 106}, alive, True).state == "stopping"
    # running but the pid is gone: failed with an explanation; force-stopped: stopped
    dead = dict(running, pid=333)
    st = derive_state(dead, {"launches": [dict(launch, pid=333)]}, alive, True)
    assert st.state == "failed" and "unexpectedly" in st.note and not st.active
    forced = {"launches": [dict(launch, pid=333)], "force_stopped_at": 107}
    assert derive_state(dead, forced, alive, True).state == "stopped"
    failed = {"state": "failed", "pid": 111, "updated": 105.0, "error": "training diverged"}
    st = derive_state(failed, {"launches": [launch]}, alive, True)
    assert (st.state, st.error) == ("failed", "training diverged")
    # a run made outside the app (no app.json) is read from its status alone
    assert derive_state({"state": "finished", "pid": 5, "updated": 1}, {}, alive, True).state == "finished"
    # written but never started, and nothing at all
    assert derive_state({}, {}, alive, True).state == "prepared"
    assert derive_state({}, {}, alive, False).state == "unknown"
    assert derive_state({"state": "queued"}, {}, alive, True).state == "unknown"  # never written by a trainer


def test_documented_states_are_the_ones_written() -> None:
    """status.json holds only what the trainer writes, and runs.py's docstring says which."""
    import gan_core.runs as runs

    written = set()
    for module in ("training.py", "train.py"):
        written |= set(re.findall(r"write_status\(\"(\w+)\"", (ROOT / "gan_core" / module).read_text()))
    written |= {s for s in re.findall(r"state = \"(\w+)\"", (ROOT / "gan_core" / "training.py").read_text())}
    assert written == set(WRITTEN_STATES)
    doc = " ".join(runs.__doc__.split())
    assert "running | stopped | finished | failed" in doc
    for derived in set(STATES) - set(WRITTEN_STATES):
        assert derived in doc and derived in derive_state.__doc__
    assert set(ACTIVE_STATES) <= set(STATES)
    with pytest.raises(ValueError):
        RunDir(ROOT / "nowhere").write_status("queued")


def test_app_record_launches_and_state(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "r")
    assert run.state() == "unknown" and not run.started()
    run.create(build_run_config({"data.source": "mnist"}))
    assert run.state() == "prepared" and not run.started() and run.read_app_meta() == {}
    run.write_app_meta({"title": "T"})
    run.record_launch(pid=2**22 + 12345, at=1.0, kind="start", steps=10)  # no such process
    assert run.read_app_meta()["launches"][0]["kind"] == "start" and run.read_app_meta()["title"] == "T"
    run.log_path.write_text("loading\nTraceback (most recent call last):\n  File x\nerror: no image found in x\n")
    st = run.run_state()
    assert (st.state, st.error) == ("failed", "no image found in x")  # the trainer's own line
    assert run.update_app_meta(title=None, stop_requested_at=5.0) == {"launches": run.read_app_meta()["launches"],
                                                                      "stop_requested_at": 5.0}
    assert run.state() == "stopped"  # it was asked to stop before it could start
    run.write_status("finished", step=10)
    assert run.started() and run.state() == "finished"


def test_log_tail_and_metrics_readers_tolerate_torn_lines(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    assert run.log_tail() == "" and run.log_error() == "" and run.last_metrics() == {}
    run.log_path.write_text("a\rb\nc\n" + "".join(f"line {i}\n" for i in range(30)))
    assert run.log_tail(3).splitlines() == ["line 27", "line 28", "line 29"]
    assert run.log_error() == "line 29"
    run.metrics_path.write_text(json.dumps({"step": 1}) + "\n" + json.dumps({"step": 2}) + "\n" + '{"step": 3, "lo')
    assert run.last_metrics() == {"step": 2}
    rows, offset, inode = run.metrics_since(0)
    assert [r["step"] for r in rows] == [1, 2] and inode > 0
    assert run.metrics_since(offset)[0] == [] and run.metrics_since(10_000)[1] == -1  # shrunk: start again


def test_best_metrics_are_the_judged_checkpoints(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    assert run.best_metrics() == {}
    best = run.checkpoint("best")
    best.mkdir(parents=True)
    (best / "config.json").write_text(json.dumps({"meta": {"metrics": {"step": 40, "loss_d": 1.0}}}))
    assert run.best_metrics() == {}  # not judged: no score to show
    (best / "config.json").write_text(json.dumps({"meta": {"metrics": {"step": 40, "eval_fd": 2.5}}}))
    assert run.best_metrics() == {"step": 40, "eval_fd": 2.5}
    (best / "config.json").write_text("{torn")
    assert run.best_metrics() == {}


def test_error_line_is_the_clis_error_else_the_crash_reason() -> None:
    """One reader of a trainer's console output (the Monitor's log and the time estimate use it)."""
    from gan_core.cli import error_line

    assert error_line("loading\nerror: ACGAN needs at least 2 classes\n[3/10] loss_d=1\n") == \
        "ACGAN needs at least 2 classes"
    crash = 'Traceback (most recent call last):\n  File "x.py", line 1, in <module>\nValueError: boom\n'
    assert error_line(crash) == "ValueError: boom"
    assert error_line('Traceback (most recent call last):\n  File "x.py", line 1\n') == ""
