"""Training the r3gan recipe: the run contract, exact resume (with rpgan, R1/R2, ADA, the EMA
half-life), the penalties' schedule, the EMA decay, and rendering/sampling an r3gan checkpoint."""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from gan_core.checkpoints import load_generator, load_training_state
from gan_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig, fit_to_data
from gan_core.render import RenderService
from gan_core.runs import RunDir
from gan_core.training import Trainer

RECIPE = dict(loss="rpgan", r1_gamma=0.5, r2_gamma=0.5, r1_every=2, beta1=0.0, beta2=0.99,
              ema_halflife_kimg=0.05, ada_target=0.6)


def tiny(k: int = 4, steps: int = 8, precision: str = "fp32", **train) -> RunConfig:
    t = dict(steps=steps, batch_size=8, log_every=2, sample_every=4, ckpt_every=4, precision=precision, **RECIPE)
    t.update(train)
    return RunConfig(ModelConfig(arch="r3gan", image_size=32, channels=1, nz=8, ngf=8, ndf=8, num_classes=k),
                     DataConfig(source="synthetic"), TrainConfig(**t))


def data(n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rs = np.random.RandomState(0)
    return rs.randint(0, 256, (n, 32, 32, 1), dtype=np.uint8), rs.randint(0, 4, n)


@pytest.mark.parametrize("k", [4, 0])
def test_few_steps_write_the_run_contract_with_ada_and_penalties(tmp_path: Path, k: int) -> None:
    cfg = tiny(k)
    run = RunDir(tmp_path / "run")
    run.create(cfg)
    tr = Trainer(cfg, *data(), run)
    assert tr.run() == "finished"
    rows = run.read_metrics()
    assert [r["step"] for r in rows] == [2, 4, 6, 8]
    need = {"loss_d", "loss_g", "d_real", "d_fake", "ada_p", "r1", "r2", "img_per_s"}
    for r in rows:
        assert need <= set(r) and all(math.isfinite(r[x]) for x in need)
        assert 0.0 <= r["ada_p"] < 1.0
    assert ("class_agreement" in rows[1]) == (k > 0)
    g, mcfg, meta = load_generator(run.checkpoint("latest"))
    assert mcfg == cfg.model and meta["step"] == 8 and meta["loss"] == "rpgan"
    assert load_training_state(run.checkpoint("latest"))["ada"]["p"] == tr.ada.p  # the row logs a window's mean


@pytest.mark.parametrize("k", [4, 0])
def test_exact_resume(tmp_path: Path, k: int) -> None:
    """N steps + resume + N steps gives the same weights and the same p as 2N steps."""
    images, labels = data()
    full = RunDir(tmp_path / "full")
    full.create(tiny(k, 12))
    Trainer(tiny(k, 12), images, labels, full).run()
    half = RunDir(tmp_path / "half")
    half.create(tiny(k, 6))
    Trainer(tiny(k, 6), images, labels, half).run()
    resumed = Trainer(tiny(k, 12), images, labels, half)
    resumed.load_checkpoint(half.checkpoint("latest"))
    assert resumed.step == 6
    resumed.run(12)
    for f in ("generator.safetensors", "generator_ema.safetensors", "discriminator.safetensors"):
        a, b = load_file(str(full.checkpoint() / f)), load_file(str(half.checkpoint() / f))
        assert a.keys() == b.keys() and all(torch.equal(a[x], b[x]) for x in a), f
    pa = load_training_state(full.checkpoint())["ada"]
    pb = load_training_state(half.checkpoint())["ada"]
    assert pa["p"] == pb["p"] and pa["last_rt"] == pb["last_rt"]


def test_mode_seeking_pairs_share_a_class_and_resume_exactly_with_mbstd(tmp_path: Path) -> None:
    """With the mode-seeking term, fakes (2k, 2k+1) share a class and the term is logged; with it
    and D's minibatch standard deviation on, N steps + resume + N steps equal 2N steps."""
    images, labels = data()
    tr = Trainer(tiny(4, mode_seeking=0.5), images, labels, None)
    _, y = tr._sample_z()
    assert torch.equal(y[0::2], y[1::2])
    assert "mode_seeking" in tr.train_step()
    assert "mode_seeking" not in Trainer(tiny(4), images, labels, None).train_step()

    def cfg(steps: int) -> RunConfig:
        c = tiny(4, steps, mode_seeking=0.5)
        c.model.d_mbstd = 4
        return c

    full, half = RunDir(tmp_path / "full"), RunDir(tmp_path / "half")
    full.create(cfg(8))
    Trainer(cfg(8), images, labels, full).run()
    half.create(cfg(4))
    Trainer(cfg(4), images, labels, half).run()
    resumed = Trainer(cfg(8), images, labels, half)
    resumed.load_checkpoint(half.checkpoint("latest"))
    resumed.run(8)
    for f in ("generator.safetensors", "generator_ema.safetensors", "discriminator.safetensors"):
        a, b = load_file(str(full.checkpoint() / f)), load_file(str(half.checkpoint() / f))
        assert a.keys() == b.keys() and all(torch.equal(a[x], b[x]) for x in a), f


def test_r1_and_r2_are_lazy_and_weighted_by_gamma(monkeypatch: pytest.MonkeyPatch) -> None:
    import gan_core.training as training

    calls: list[str] = []
    for name in ("r1_penalty", "r2_penalty"):
        real = getattr(training, name)
        monkeypatch.setattr(training, name, lambda c, x, scale=None, _r=real, _n=name: calls.append(_n) or _r(c, x, scale))
    tr = Trainer(tiny(4, r1_every=3, r2_gamma=0.0), *data(), None)
    for _ in range(7):
        tr.train_step()
    assert calls == ["r1_penalty"] * 3  # D updates 0, 3, 6; R2 off
    calls.clear()
    tr = Trainer(tiny(4, r1_every=1, r1_gamma=0.0), *data(), None)
    tr.train_step()
    assert calls == ["r2_penalty"]


def test_without_the_class_loss_in_g_only_d_learns_the_classes(monkeypatch: pytest.MonkeyPatch) -> None:
    """aux_in_g off: D's update is unchanged (it comes first and never reads the flag), G's differs,
    and the class loss is computed once per step (D on real images) instead of twice."""
    import gan_core.training as training

    calls: list[int] = []
    real_aux = training.aux_loss
    monkeypatch.setattr(training, "aux_loss", lambda logits, y: calls.append(len(y)) or real_aux(logits, y))
    torch.manual_seed(0)
    with_term = Trainer(tiny(4, aux_on_fake=False), *data(), None)
    torch.manual_seed(0)
    without = Trainer(tiny(4, aux_on_fake=False, aux_in_g=False), *data(), None)
    with_term.train_step()
    assert len(calls) == 2
    calls.clear()
    without.train_step()
    assert len(calls) == 1
    d_same = [torch.equal(a, b) for a, b in zip(with_term.D.parameters(), without.D.parameters())]
    g_same = [torch.equal(a, b) for a, b in zip(with_term.G.parameters(), without.G.parameters())]
    assert all(d_same) and not all(g_same)


def test_ema_decay_from_half_life_halves_the_weight_every_h_kimg() -> None:
    tr = Trainer(tiny(4, ema_halflife_kimg=2.0, batch_size=16), *data(), None)
    steps_per_half_life = 2000 / 16
    assert tr.ema_decay() ** steps_per_half_life == pytest.approx(0.5)
    assert Trainer(tiny(4, ema_halflife_kimg=0.0, ema=0.99), *data(), None).ema_decay() == 0.99


def test_ada_p_rises_when_d_separates_every_pair(monkeypatch: pytest.MonkeyPatch) -> None:
    """rpgan's heuristic is sign(D(real) - D(fake)): a D that always ranks reals first pushes p up."""
    tr = Trainer(tiny(0, ada_target=0.3), *data(), None)
    for _ in range(8):
        tr.ada.observe(torch.ones(8))
        tr.ada.maybe_adjust(8)
    assert tr.ada.p > 0
    tr2 = Trainer(tiny(0, ada_target=0.3), *data(), None)
    assert tr2.aug_ops == ["translation", "cutout", "color"]  # ADA without named ops: all of them


def test_classes_follow_the_data_unless_turned_off() -> None:
    cfg = tiny(0)
    assert fit_to_data(cfg, 1, ["a", "b", "c"], "fp", 30).model.num_classes == 3
    cfg = tiny(0)
    cfg.data.use_classes = False
    assert fit_to_data(cfg, 1, ["a", "b", "c"], "fp", 30).model.num_classes == 0
    assert fit_to_data(tiny(0), 1, ["only"], "fp", 30).model.num_classes == 0


def test_fitting_to_the_data_keeps_every_chosen_model_field() -> None:
    cfg = tiny(0)
    cfg.model.min_width, cfg.model.d_mbstd, cfg.model.nz = 24, 4, 12
    m = fit_to_data(cfg, 3, ["a", "b"], "fp", 30).model
    assert (m.min_width, m.d_mbstd, m.nz, m.channels, m.num_classes) == (24, 4, 12, 3, 2)


def test_a_trained_checkpoint_renders_and_samples(tmp_path: Path) -> None:
    cfg = tiny(4, steps=4)
    run = RunDir(tmp_path / "run")
    run.create(cfg)
    Trainer(cfg, *data(), run).run()
    svc = RenderService(run.checkpoint("latest"), threads=0)
    img = svc.render(5, 2)
    assert img.shape == (32, 32, 1) and img.dtype == np.uint8
    assert np.array_equal(svc.render_z(svc.z(5), class_embedding=svc.class_embedding(2, 1, 0.0)), img)
    out = tmp_path / "s.npz"
    res = subprocess.run([sys.executable, "-m", "gan_core.sample", "--checkpoint", str(run.path),
                          "--n", "8", "--classes", "all", "--out", str(out)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    z = np.load(out)
    assert z["images"].shape[0] == 8 and sorted(set(z["labels"].tolist())) == [0, 1, 2, 3]


def test_health_measures_diversity_within_each_class_for_a_conditional_model() -> None:
    """One picture per class (what a conditional model that ignores z draws) keeps the diversity over
    all samples up, since the classes differ, and sends the diversity within classes to 0."""
    tr = Trainer(tiny(4), *data(), None)
    labels = tr.fixed_labels.cpu().numpy()
    rng = np.random.default_rng(0)
    per_class = rng.integers(0, 256, (4, 32, 32, 1), dtype=np.uint8)
    collapsed = per_class[labels]
    h = tr.health(collapsed)
    assert h["diversity"] > 0.5 and h["class_diversity"] < 1e-6
    varied = rng.integers(0, 256, (len(labels), 32, 32, 1), dtype=np.uint8)
    assert tr.health(varied)["class_diversity"] > 0.5
    assert "class_diversity" not in Trainer(tiny(0), *data(), None).health(varied)  # unconditional: one measure


def test_class_diversity_is_read_against_real_images_own_spread_within_their_classes() -> None:
    """The unit is the real images' within-class share: real images as samples read ~1, and a set
    whose classes hold one image each gives no unit (one picture per class is what it holds)."""
    images, labels = data()
    tr = Trainer(tiny(4), images, labels, None)
    fl = tr.fixed_labels.cpu().numpy()
    as_real = np.stack([images[labels == k][i % int((labels == k).sum())] for i, k in enumerate(fl)])
    assert 0.8 < tr.health(as_real)["class_diversity"] < 1.25
    singles = Trainer(tiny(8), images[:8], np.arange(8), None)
    drawn = images[np.arange(len(singles.fixed_labels)) % 64]
    assert singles.real_spread()[1] is None and "class_diversity" not in singles.health(drawn)


def test_lr_factor_is_constant_then_half_a_cosine_down_to_the_final_multiplier() -> None:
    from gan_core.schedule import lr_factor, stalled

    assert all(lr_factor(p, None, 0.1) == lr_factor(p, 1.0, 0.1) == 1.0 for p in (0.0, 0.5, 1.0, 2.0))  # constant
    assert lr_factor(0.0, 0.6, 0.1) == lr_factor(0.6, 0.6, 0.1) == 1.0  # before the decay starts
    assert lr_factor(0.8, 0.6, 0.1) == pytest.approx(0.55)  # halfway down the cosine
    assert lr_factor(1.0, 0.6, 0.1) == pytest.approx(0.1) == lr_factor(1.7, 0.6, 0.1)  # the end, and past it
    grid = [lr_factor(i / 100, 0.6, 0.2) for i in range(101)]
    assert all(a >= b for a, b in zip(grid, grid[1:])) and grid[-1] == pytest.approx(0.2)
    # a plateau: a judged FD not 5% below the best before it; never at the first judgement
    assert not stalled(10.0, math.inf) and not stalled(0.94, 1.0) and stalled(0.96, 1.0) and stalled(1.2, 1.0)
    # ... near the data only: a flat FD 57x the real-vs-real baseline is a pause, not a plateau
    assert stalled(0.96, 1.0, ratio=2.7) and stalled(0.96, 1.0, ratio=10.0)
    assert not stalled(0.96, 1.0, ratio=57.0) and not stalled(0.96, 1.0, ratio=math.nan)


def test_the_lr_schedule_reads_steps_or_the_time_budget_and_resumes_exactly(tmp_path: Path) -> None:
    """With train.lr_decay, each step's rates are the config's times the schedule at the run's
    progress: its steps' share, or the time budget's when that is further. Off, the optimisers'
    rates are never touched. N steps + a stop + resume to 2N equal 2N steps."""
    from gan_core.schedule import lr_factor

    images, labels = data()
    cfg = tiny(4, 10, lr_decay=0.5, lr_final=0.2, lr_g=2e-3, lr_d=1e-3)
    tr = Trainer(cfg, images, labels, None)
    seen = []
    for _ in range(10):
        stats = tr.train_step()  # the rates of each step are set from the progress before it
        seen.append((tr.opt_g.param_groups[0]["lr"], tr.opt_d.param_groups[0]["lr"], float(stats["lr_scale"])))
    for step, (lr_g, lr_d, scale) in enumerate(seen):
        f = lr_factor(step / 10, 0.5, 0.2)
        assert (lr_g, lr_d, scale) == pytest.approx((2e-3 * f, 1e-3 * f, f))
    assert seen[5][2] == 1.0 and seen[9][2] < 0.3
    tr.time_progress = lambda: 1.0  # the budget spent: the end's rates at once
    tr.step = 0
    tr.train_step()
    assert tr.opt_g.param_groups[0]["lr"] == pytest.approx(2e-3 * 0.2)
    off = Trainer(tiny(4, 10, lr_g=2e-3), images, labels, None)
    off.time_progress = lambda: 1.0
    assert "lr_scale" not in off.train_step() and off.opt_g.param_groups[0]["lr"] == 2e-3

    def stop_at(k: int):
        return lambda t, row: t.request_stop() if t.step >= k else None

    full, half = RunDir(tmp_path / "full"), RunDir(tmp_path / "half")
    full.create(cfg)
    Trainer(cfg, images, labels, full).run()
    half.create(cfg)
    first = Trainer(cfg, images, labels, half)
    first.add_hook("on_step", stop_at(4))
    assert first.run() == "stopped" and 4 <= first.step < 10
    resumed = Trainer(cfg, images, labels, half)
    resumed.load_checkpoint(half.checkpoint("latest"))
    assert resumed.run() == "finished"
    for f in ("generator.safetensors", "generator_ema.safetensors", "discriminator.safetensors"):
        a, b = load_file(str(full.checkpoint() / f)), load_file(str(half.checkpoint() / f))
        assert a.keys() == b.keys() and all(torch.equal(a[x], b[x]) for x in a), f
    assert [r["lr_scale"] for r in full.read_metrics()][-1] == pytest.approx(
        (lr_factor(8 / 10, 0.5, 0.2) + lr_factor(9 / 10, 0.5, 0.2)) / 2, abs=1e-5)  # a row: its window's mean


def test_with_lr_decay_plateau_the_rates_fall_only_after_the_judged_fd_stalls(tmp_path: Path) -> None:
    """lr_decay_plateau: constant rates while each judged FD is 5% below the best so far; at the
    first that is not, the decay starts (not before the last lr_decay share), an event says so,
    and the start is in the checkpoint, so a resume decays the same way."""
    images, labels = data()
    # the third judgement stalls (3.9 is not 5% below 4.0); the stop at step 7 is judged too
    fds = iter([8.0, 4.0, 3.9, 1.0, 0.7, 0.5])

    def judge(g: torch.nn.Module) -> dict:
        return {"fd": next(fds)}

    def cfg() -> RunConfig:
        c = tiny(4, 10, lr_decay=0.8, lr_final=0.1, lr_decay_plateau=True, eval_every=2)
        c.train.ckpt_every = 2
        return c

    run = RunDir(tmp_path / "run")
    run.create(cfg())
    tr = Trainer(cfg(), images, labels, run, evaluator=judge)
    tr.add_hook("on_step", lambda t, row: t.request_stop() if t.step >= 6 else None)
    tr.run()
    rows = run.read_metrics()
    scale = {r["step"]: r["lr_scale"] for r in rows}
    assert scale[2] == scale[4] == scale[6] == 1.0  # the decay starts after the judgement at step 6
    assert tr.decay_from == pytest.approx(0.6)  # 6 of 10 steps: later than the last 80%
    (event,) = run.read_events()
    assert event["kind"] == "lr_decay" and event["step"] == 6 and "60% of the run" in event["text"]
    assert list(event["evidence"].values()) == [3.9, 4.0]
    resumed = Trainer(cfg(), images, labels, run, evaluator=judge)
    resumed.load_checkpoint(run.checkpoint("latest"))
    assert resumed.decay_from == pytest.approx(0.6)
    resumed.run()
    assert 0.1 < run.read_metrics()[-1]["lr_scale"] < 0.5  # falling toward 0.1 over steps 7..10
    assert len(run.read_events()) == 1  # one start, not one per later judgement
    # not before the last lr_decay share: a plateau at 20% of the run starts the decay at 50%
    early = Trainer(tiny(4, 10, lr_decay=0.5, lr_decay_plateau=True), images, labels, None)
    early.step, early.best_score = 2, 1.0
    assert early.watch_plateau(math.inf) is None and early.decay_from is None  # no FD judged: no evidence
    assert early.watch_plateau(1.0)["kind"] == "lr_decay" and early.decay_from == 0.5
    assert early.watch_plateau(2.0) is None
    far = Trainer(tiny(4, 10, lr_decay=0.5, lr_decay_plateau=True), images, labels, None)
    far.step, far.best_score = 2, 1.0
    assert far.watch_plateau(1.0, ratio=57.0) is None and far.decay_from is None  # stalled, but far from the data
    near = far.watch_plateau(1.0, ratio=3.1)
    assert near["kind"] == "lr_decay" and far.decay_from == 0.5 and 3.1 in near["evidence"].values()
    assert Trainer(tiny(4, 10, lr_decay=0.5), images, labels, None).watch_plateau(9.0) is None  # fixed window
    # lr_decay_last: the rates fall over the run's last share even without a plateau; a plateau may start them earlier
    late = Trainer(tiny(4, 10, lr_decay=0.5, lr_decay_plateau=True, lr_decay_last=0.2), images, labels, None)
    assert late.decay_start() == pytest.approx(0.8)
    late.step = 7
    assert late.schedule_lr() == 1.0 and late.watch_plateau(9.0) is None  # the first judgement: no best yet
    late.best_score = 1.0
    assert late.watch_plateau(1.0)["kind"] == "lr_decay" and late.decay_start() == pytest.approx(0.7)
    late.step = 9
    assert 0.1 < late.schedule_lr() < 0.5
    falling = Trainer(tiny(4, 10, lr_decay=0.5, lr_decay_plateau=True, lr_decay_last=0.2), images, labels, None)
    falling.step, falling.best_score = 9, 1.0
    assert 0.1 < falling.schedule_lr() < 1.0  # past 80%: falling with no plateau found
    assert falling.watch_plateau(1.0) is None and falling.decay_start() == pytest.approx(0.8)  # no late event
    capped = Trainer(tiny(4, 10, lr_decay=0.1, lr_decay_plateau=True, lr_decay_last=0.2), images, labels, None)
    assert capped.decay_start() == pytest.approx(0.9)  # never more than lr_decay
    assert Trainer(tiny(4, 10, lr_decay=0.0, lr_decay_plateau=True, lr_decay_last=0.2), images, labels,
                   None).decay_start() is None
