"""Branch runs: a new run from a parent's checkpoint with edited settings, recorded in its config;
a branch without edits resumes bit-exactly as its parent continues; hand rollbacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from gan_core import lineage
from gan_core.checkpoints import load_training_state
from gan_core.config import RunConfig
from gan_core.errors import CheckpointError, ConfigError
from gan_core.runs import RunDir
from gan_core.training import Trainer
from tests.test_guard_trainer import same_weights
from tests.test_training import data, tiny_run


def trained(tmp_path: Path, name: str, steps: int, **kw) -> RunDir:
    cfg = tiny_run("acgan", steps, ema=0.9, diffaug="translation,color", **kw)
    run = RunDir(tmp_path / name)
    run.create(cfg)
    Trainer(cfg, *data(), run).run()
    return run


def resume(run: RunDir, steps: int) -> None:
    """What `python -m gan_core.train --resume --out RUN --steps N` does with the run's config."""
    cfg = run.load_config()
    cfg.train.steps = steps
    tr = Trainer(cfg, *data(), run)
    tr.load_checkpoint(run.checkpoint("latest"))
    tr.run(steps)


def test_a_branch_resumes_bit_exactly_from_its_parents_checkpoint(tmp_path: Path) -> None:
    parent = trained(tmp_path, "parent", 6)
    child = RunDir(tmp_path / "child")
    cfg = lineage.branch(parent, "latest", child, {"train.steps": 12})
    assert (cfg.lineage.parent, cfg.lineage.parent_step, cfg.lineage.parent_checkpoint) == ("parent", 6, "latest")
    assert child.load_config().lineage == cfg.lineage  # recorded in config.json, read back typed
    assert [r["step"] for r in child.read_metrics()] == [2, 4, 6]  # the parent's history came along
    assert [s for s, _ in child.samples()] == [4, 6]  # the end of a run samples too
    assert child.read_events()[0]["kind"] == "branch"
    resume(child, 12)
    resume(parent, 12)
    straight = trained(tmp_path, "straight", 12)
    assert same_weights(child.checkpoint(), parent.checkpoint())
    assert same_weights(child.checkpoint(), straight.checkpoint())


def test_a_branch_with_edited_settings_trains_with_them(tmp_path: Path) -> None:
    parent = trained(tmp_path, "parent", 6)
    child = RunDir(tmp_path / "child")
    lineage.branch(parent, "latest", child, {"train.steps": 8, "train.lr_d": 5e-5, "train.r1_gamma": 1.0,
                                             "train.beta1": 0.0})
    state = load_training_state(child.checkpoint())
    assert state["opt_d"]["param_groups"][0]["lr"] == pytest.approx(5e-5)
    assert tuple(state["opt_g"]["param_groups"][0]["betas"]) == (0.0, 0.999)
    cfg = child.load_config()
    tr = Trainer(cfg, *data(), child)
    tr.load_checkpoint(child.checkpoint())
    assert tr.opt_d.param_groups[0]["lr"] == pytest.approx(5e-5) and tr.step == 6
    tr.run(8)
    assert "r1" in child.read_metrics()[-1] or tr.cfg.train.r1_gamma == 1.0
    # the parent is untouched
    assert RunDir(parent.path).load_config().train.lr_d == pytest.approx(2e-4)


def test_a_branch_refuses_model_or_data_edits_and_a_step_target_behind_it(tmp_path: Path) -> None:
    parent = trained(tmp_path, "parent", 4)
    with pytest.raises(ConfigError, match="keeps its parent's model and data; model.ngf"):
        lineage.branch(parent, "latest", RunDir(tmp_path / "c1"), {"model.ngf": 8, "train.steps": 9})
    with pytest.raises(ConfigError, match="train.steps must be above it"):
        lineage.branch(parent, "latest", RunDir(tmp_path / "c2"), {})
    with pytest.raises(ConfigError, match="lr_d"):
        lineage.branch(parent, "latest", RunDir(tmp_path / "c3"), {"train.steps": 9, "train.lr_d": 3.0})
    with pytest.raises(CheckpointError):
        lineage.branch(parent, "../parent/checkpoints/latest", RunDir(tmp_path / "c4"), {"train.steps": 9})
    assert not any((tmp_path / c).exists() for c in ("c1", "c2", "c3", "c4"))


def test_a_config_without_a_lineage_reads_as_a_root_run() -> None:
    d = tiny_run().to_dict()
    d.pop("lineage")
    cfg = RunConfig.from_dict(d)
    assert cfg.lineage.parent == "" and cfg.lineage.parent_step == 0


def test_family_groups_children_under_their_parents() -> None:
    a = tiny_run()
    b = RunConfig.from_dict(dict(a.to_dict(), lineage={"parent": "a", "parent_step": 4}))
    c = RunConfig.from_dict(dict(a.to_dict(), lineage={"parent": "b", "parent_step": 6}))
    orphan = RunConfig.from_dict(dict(a.to_dict(), lineage={"parent": "deleted", "parent_step": 2}))
    assert lineage.family({"a": a, "b": b, "c": c, "o": orphan}) == {"": ["a", "o"], "a": ["b"], "b": ["c"]}


def test_roll_back_by_hand_makes_an_older_checkpoint_latest(tmp_path: Path) -> None:
    from gan_core.checkpoints import copy_checkpoint

    run = trained(tmp_path, "run", 4)
    copy_checkpoint(run.checkpoint("latest"), run.ring_checkpoint(4), with_training_state=True)
    resume(run, 8)
    assert lineage.checkpoint_step(run, "latest") == 8
    assert lineage.roll_back(run, "ring/step_000004") == 4
    assert lineage.checkpoint_step(run, "latest") == 4
    assert [r["step"] for r in run.read_metrics()] == [2, 4]
    ev = run.last_event()
    assert ev["kind"] == "rollback" and ev["to_step"] == 4
    with pytest.raises(CheckpointError, match="already the latest"):
        lineage.roll_back(run, "latest")
