"""The guard inside the trainer: ring of healthy checkpoints, rollback + remedy + event, give-up with
a reason, and exact continuation (a guarded run without trouble is bit-identical to an unguarded
one; a run resumed after a rescue continues exactly as the uninterrupted rescued run)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from gan_core.errors import TrainingError
from gan_core.guard import Guard
from gan_core.guard_rules import Rules
from gan_core.runs import RunDir
from gan_core.training import Trainer
from tests.test_training import data, tiny_run

WEIGHTS = ("generator.safetensors", "generator_ema.safetensors", "discriminator.safetensors")


def same_weights(a: Path, b: Path) -> bool:
    for f in WEIGHTS:
        x, y = load_file(str(a / f)), load_file(str(b / f))
        if x.keys() != y.keys() or not all(torch.equal(x[k], y[k]) for k in x):
            return False
    return True


def poison_once(at_step: int):
    """An on_step hook that makes D's weights NaN the first time the log of `at_step` is written."""
    fired = []

    def hook(tr: Trainer, row: dict) -> None:
        if row["step"] == at_step and not fired:
            fired.append(at_step)
            with torch.no_grad():
                next(tr.D.parameters()).fill_(float("nan"))
    return hook


def guarded(tmp_path: Path, name: str, steps: int = 12, rules: Rules = Rules(), **kw) -> tuple[Trainer, RunDir]:
    cfg = tiny_run("dcgan", steps, guard=True, ema=0.9, **kw)
    run = RunDir(tmp_path / name)
    run.create(cfg)
    images, labels = data()
    tr = Trainer(cfg, images, labels, run)
    tr.guard = Guard(rules)
    return tr, run


def test_a_guarded_run_without_trouble_trains_exactly_as_an_unguarded_one(tmp_path: Path) -> None:
    tr, run = guarded(tmp_path, "guarded")
    assert tr.run() == "finished"
    cfg = tiny_run("dcgan", 12, ema=0.9)
    plain = RunDir(tmp_path / "plain")
    plain.create(cfg)
    Trainer(cfg, *data(), plain).run()
    assert same_weights(run.checkpoint(), plain.checkpoint())
    assert run.read_events() == []
    assert run.ring_steps() == [8, 10, 12]  # the ring keeps the newest K = 3 healthy checkpoints


def test_nan_weights_roll_back_apply_a_remedy_and_log_the_event(tmp_path: Path) -> None:
    tr, run = guarded(tmp_path, "run")
    tr.add_hook("on_step", poison_once(6))
    assert tr.run() == "finished"
    ev, held = run.read_events()
    assert held["kind"] == "held" and held["step"] == 8  # the next clean log past the caught step
    assert ev["kind"] == "nonfinite" and ev["action"] == "roll back" and ev["step"] == 6 and ev["to_step"] == 4
    assert ev["rule"] == "weights not finite" and "learning rates x0.1" in ev["remedy"]
    assert ev["changes"] == {"train.lr_g": pytest.approx(2e-5), "train.lr_d": pytest.approx(2e-5)}
    assert isinstance(ev["time"], float) and ev["evidence"]
    # the remedy is in the run's config (a resume uses it) and in the optimiser state saved
    cfg = run.load_config()
    assert cfg.train.lr_g == pytest.approx(2e-5) and cfg.train.lr_d == pytest.approx(2e-5)
    from gan_core.checkpoints import load_training_state

    state = load_training_state(run.checkpoint())
    assert state["opt_d"]["param_groups"][0]["lr"] == pytest.approx(2e-5)
    # the metrics hold one timeline: the rolled-back logs are gone, each step once
    steps = [r["step"] for r in run.read_metrics()]
    assert steps == [2, 4, 6, 8, 10, 12]
    assert all(torch.isfinite(p).all() for p in tr.D.parameters())


def test_the_guard_gives_up_with_a_reason_and_keeps_the_healthy_checkpoint(tmp_path: Path) -> None:
    tr, run = guarded(tmp_path, "run", rules=Rules(max_rescues=0))
    tr.add_hook("on_step", poison_once(6))
    with pytest.raises(TrainingError, match="the guard stopped the run: nonfinite at step 6.*step 4"):
        tr.run()
    status = run.read_status()
    assert status["state"] == "failed" and "guard stopped the run" in status["error"]
    assert run.last_event()["action"] == "give up"
    from gan_core.checkpoints import read_config

    assert read_config(run.checkpoint())[1]["step"] == 4
    sd = load_file(str(run.checkpoint() / "discriminator.safetensors"))
    assert all(torch.isfinite(v).all() for v in sd.values())


def test_a_resume_after_a_rescue_continues_exactly(tmp_path: Path) -> None:
    full, full_run = guarded(tmp_path, "full")
    full.add_hook("on_step", poison_once(6))
    full.run()

    half, half_run = guarded(tmp_path, "half")
    half.add_hook("on_step", poison_once(6))
    half.add_hook("on_step", lambda t, row: t.request_stop() if row["step"] == 8 else None)
    assert half.run() == "stopped"
    cfg = half_run.load_config()  # what `--resume` reads: the remedied learning rates
    assert cfg.train.lr_d == pytest.approx(2e-5)
    resumed = Trainer(cfg, *data(), half_run)
    resumed.guard = Guard()
    resumed.load_checkpoint(half_run.checkpoint())
    assert resumed.run(12) == "finished"
    assert same_weights(full_run.checkpoint(), half_run.checkpoint())
    assert [e["kind"] for e in half_run.read_events()] == [e["kind"] for e in full_run.read_events()]


def test_events_are_appended_whole_and_a_torn_line_is_skipped(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    run.append_event({"step": 3, "kind": "rollback", "text": "a"})
    with open(run.events_path, "a") as fh:
        fh.write('{"step": 4, "kind": "tor')
    assert [e["step"] for e in run.read_events()] == [3]
    run2 = RunDir(tmp_path / "run2")
    run2.path.mkdir()
    for i in range(3):
        run2.append_event({"step": i, "kind": "k"})
    lines = run2.events_path.read_text().splitlines()
    assert [json.loads(ln)["step"] for ln in lines] == [0, 1, 2]


def test_a_collapse_rolls_back_and_turns_augmentation_up(tmp_path: Path) -> None:
    """Forced collapse: every weight of G (and its EMA) zeroed after the steps 6 and 8, so every
    sample is the same image (diversity 0.0004). The tiny models reach only ~0.07 on noise data, so
    the floor and the 'had been diverse' gate are scaled down to it here (0.01 and 0.05); the
    constructed-stream tests check the real numbers."""
    tr, run = guarded(tmp_path, "run", rules=Rules(n_logs=2, diversity_floor=0.01, diversity_seen=0.05))

    step = tr.train_step

    def flattened_step() -> dict:  # the training steps of 6 and 8 end with G flat (the guard measures after them)
        stats = step()
        if tr.step in (6, 8) and not run.read_events():
            with torch.no_grad():
                for m in (tr.G, tr.G_ema):
                    for p in m.parameters():
                        p.zero_()
        return stats
    tr.train_step = flattened_step
    assert tr.run() == "finished"
    ev = run.read_events()[0]
    assert ev["kind"] == "collapse" and ev["to_step"] == 4 and max(ev["evidence"]["diversity"]) < 0.01
    assert ev["remedy"] == "augmentation up (translation)"
    assert run.load_config().train.diffaug == "translation" and tr.aug_ops == ["translation"]
    assert tr.health(tr.sample_images())["diversity"] > 0
    rows = run.read_metrics()  # what the guard read at every log is in the run's metrics, for the charts
    assert [r["step"] for r in rows] == list(range(2, 13, 2)) and all("diversity" in r for r in rows)


def test_a_learning_rate_far_beyond_range_is_reset_at_the_first_failing_log(tmp_path: Path) -> None:
    """The issue's `--lr 0.5` in small: the first failing log (not the third) rolls back to the log
    before it (a healthy one, in the ring) and resets both rates to the stable 2e-4 in one step;
    the rescues hold and the run finishes."""
    tr, run = guarded(tmp_path, "run", lr_g=0.5, lr_d=0.5)
    assert Guard().rules_now(tr).n_logs == 1
    assert tr.run() == "finished"
    ev = run.read_events()[0]
    assert ev["action"] == "roll back" and ev["to_step"] == ev["step"] - 2  # a streak of one log
    assert ev["changes"] == {"train.lr_g": 2e-4, "train.lr_d": 2e-4} and "far beyond" in ev["remedy"]
    # the checkpoint just before may already be harmed: a later rescue may go further back (escalated)
    actions = [e["action"] for e in run.read_events()]
    assert actions[-1] == "carry on" and set(actions[:-1]) == {"roll back"}
    assert Guard().rules_now(tr).n_logs == Rules().n_logs  # back in range: the usual streaks
    assert run.load_config().train.lr_g <= 2e-4


def test_the_mode_seeking_remedy_takes_effect_at_the_next_step() -> None:
    """The remedy for one picture per class sets the term on a live trainer: from the next step its
    fakes come in pairs of one class (what the term compares), without rebuilding anything."""
    from gan_core.guard_remedies import Remedy, apply_remedy

    images, labels = data()
    tr = Trainer(tiny_run("acgan", 4), images, labels, None)
    assert not tr.pairs
    apply_remedy(tr, Remedy("mode-seeking term 0.1", {"train.mode_seeking": 0.1}))
    assert tr.pairs and tr.cfg.train.mode_seeking == 0.1
    _, y = tr._sample_z()
    assert torch.equal(y[0::2], y[1::2])
    assert "mode_seeking" in tr.train_step()
