"""The app's branch and rollback actions (ui.run_control) and the Monitor's "Roll back to here"."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gan_core.lineage import checkpoint_step
from gan_core.runs import RunDir
from gan_core.training import Trainer
from tests.test_training import data, tiny_run


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from app_helpers import isolate_home

    return isolate_home(tmp_path, monkeypatch)


def stopped_run(name: str) -> RunDir:
    """A stopped run with checkpoints at steps 4 (the guard's ring) and 8 (latest), no training needed."""
    from ui import paths

    cfg = tiny_run(steps=20)
    rd = RunDir(paths.runs_dir() / name)
    rd.create(cfg)
    tr = Trainer(cfg, *data(), rd)
    for step in (4, 8):
        tr.step = step
        tr.save_checkpoint(f"ring/step_{step:06d}" if step == 4 else "latest")
    for s in (2, 4, 6, 8):
        rd.append_metrics({"step": s, "loss_d": 1.0, "loss_g": 2.0, "d_real": 0.6, "d_fake": 0.4})
    rd.write_status("stopped", step=8, total_steps=20)
    rd.write_app_meta({"title": name, "created": time.time(), "launches": []})
    return rd


def test_branch_from_the_app_records_the_parent_and_can_wait_to_start(home: Path) -> None:
    from ui import lineage as ui_lineage
    from ui import run_control, run_views

    parent = stopped_run("parent")
    child = run_control.branch("parent", "ring/step_000004", "try lower D lr",
                               {"train.lr_d": 1e-4, "train.steps": 30}, start=False)
    assert child.name == "try-lower-D-lr" and child.state == "prepared" and child.can_resume
    cfg = child.run.load_config()
    assert (cfg.lineage.parent, cfg.lineage.parent_step, cfg.train.lr_d) == ("parent", 4, 1e-4)
    nodes = ui_lineage.tree(run_views.list_runs())
    assert [(n.depth, n.name) for n in nodes] == [(0, "parent"), (1, "try-lower-D-lr")]
    assert "└─ try lower D lr  (from step 4)" in ui_lineage.tree_text(nodes)
    with pytest.raises(run_control.JobError, match="model.ngf"):
        run_control.branch("parent", "latest", "bad", {"model.ngf": 8, "train.steps": 30}, start=False)
    assert checkpoint_step(parent, "latest") == 8  # the parent is untouched


def test_roll_back_from_the_monitor(home: Path) -> None:
    from app_helpers import ROOT
    from streamlit.testing.v1 import AppTest

    rd = stopped_run("run")
    at = AppTest.from_file(str(ROOT / "studio.py"), default_timeout=60)
    at.session_state["monitor_run"] = "run"
    at.run()
    at.switch_page("pages/monitor.py").run()
    assert not at.exception, [e.value for e in at.exception]
    pick = at.selectbox(key="ckpt_pick_run")
    assert pick.options == ["step 8 · latest", "step 4 · ring/step_000004"]
    assert at.button(key="rollback_btn").disabled  # latest is where it is already
    pick.set_value("ring/step_000004").run()
    at.button(key="rollback_btn").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert checkpoint_step(rd, "latest") == 4 and [r["step"] for r in rd.read_metrics()] == [2, 4]
    assert rd.last_event()["text"] == "rolled back by hand to step 4 (ring/step_000004)"
