import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from gan_core.checkpoints import load_generator, load_training_state
from gan_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from gan_core.errors import TrainingError
from gan_core.runs import RunDir
from gan_core.training import Trainer


def tiny_run(arch: str = "dcgan", steps: int = 8, precision: str = "fp32", **train) -> RunConfig:
    k = 4 if arch == "acgan" else 0
    t = dict(steps=steps, batch_size=8, log_every=2, sample_every=4, ckpt_every=4, precision=precision)
    t.update(train)
    return RunConfig(ModelConfig(arch=arch, image_size=32, channels=1, nz=8, ngf=4, ndf=4, num_classes=k),
                     DataConfig(source="synthetic", hflip=True), TrainConfig(**t))


def data(n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rs = np.random.RandomState(0)
    return rs.randint(0, 256, (n, 32, 32, 1), dtype=np.uint8), rs.randint(0, 4, n)


@pytest.mark.parametrize("arch,loss", [("dcgan", "bce"), ("dcgan", "hinge"), ("dcgan", "lsgan"),
                                       ("dcgan", "wgan-gp"), ("acgan", "bce")])
def test_few_steps_write_the_run_directory_contract(tmp_path: Path, arch: str, loss: str) -> None:
    cfg = tiny_run(arch, loss=loss, diffaug="translation,cutout,color",
                   **({"n_critic": 2} if loss == "wgan-gp" else {}))
    run = RunDir(tmp_path / "run")
    run.create(cfg)
    images, labels = data()
    assert Trainer(cfg, images, labels, run).run() == "finished"
    rows = run.read_metrics()
    assert [r["step"] for r in rows] == [2, 4, 6, 8]
    need = {"step", "epoch", "loss_d", "loss_g", "d_real", "d_fake", "img_per_s", "time"}
    if arch == "acgan":
        need |= {"acc_real", "acc_fake"}
    for r in rows:
        assert need <= set(r) and all(math.isfinite(r[k]) for k in need)
    assert "diversity" in rows[1] and ("class_agreement" in rows[1]) == (arch == "acgan")
    assert [s for s, _ in run.samples()] == [4, 8]
    status = run.read_status()
    assert status["state"] == "finished" and status["step"] == 8
    for which in ("latest", "best"):
        g, mcfg, meta = load_generator(run.checkpoint(which))
        assert meta["step"] == 8 and mcfg == cfg.model
    assert {p.name for p in run.checkpoint("latest").iterdir()} == {
        "config.json", "generator.safetensors", "generator_ema.safetensors", "discriminator.safetensors",
        "training_state.safetensors"}
    assert RunConfig.from_dict(json.loads(run.config_path.read_text())) == cfg


@pytest.fixture
def deterministic_on_cuda(monkeypatch: pytest.MonkeyPatch):
    """The trainer's deterministic mode (GAN_STUDIO_DETERMINISTIC) when a CUDA GPU is present;
    the process-wide settings are put back afterwards."""
    if not torch.cuda.is_available():
        yield
        return
    monkeypatch.setenv("GAN_STUDIO_DETERMINISTIC", "1")
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    cudnn = torch.backends.cudnn
    before = (torch.are_deterministic_algorithms_enabled(), cudnn.deterministic, cudnn.benchmark)
    yield
    torch.use_deterministic_algorithms(before[0])
    cudnn.deterministic, cudnn.benchmark = before[1], before[2]


@pytest.mark.parametrize("arch,precision", [("dcgan", "fp32"), ("acgan", "fp32"), ("acgan", "auto")])
def test_exact_resume(tmp_path: Path, deterministic_on_cuda: None, arch: str, precision: str) -> None:
    """N steps + resume + N steps gives the same weights as 2N steps (data order, RNG, Adam, EMA).

    On a CUDA GPU (the trainer's `auto` device when one is present) this holds in deterministic
    mode, which the fixture turns on there: without it, cuDNN's convolutions and the embedding's
    backward add up in a varying order. scripts/gpu_check.sh runs it on a lent GPU."""
    images, labels = data()
    kw = dict(diffaug="translation,color", ema=0.9)
    full = RunDir(tmp_path / "full")
    full.create(tiny_run(arch, 12, precision, **kw))
    Trainer(tiny_run(arch, 12, precision, **kw), images, labels, full).run()

    half = RunDir(tmp_path / "half")
    half.create(tiny_run(arch, 6, precision, **kw))
    Trainer(tiny_run(arch, 6, precision, **kw), images, labels, half).run()
    resumed = Trainer(tiny_run(arch, 12, precision, **kw), images, labels, half)
    resumed.load_checkpoint(half.checkpoint("latest"))
    assert resumed.step == 6
    resumed.run(12)
    for f in ("generator.safetensors", "generator_ema.safetensors", "discriminator.safetensors"):
        a = load_file(str(full.checkpoint() / f))
        b = load_file(str(half.checkpoint() / f))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), f


def test_stop_request_saves_and_marks_stopped(tmp_path: Path) -> None:
    cfg = tiny_run(steps=50)
    run = RunDir(tmp_path / "run")
    run.create(cfg)
    images, labels = data()
    tr = Trainer(cfg, images, labels, run)
    tr.add_hook("on_step", lambda t, row: run.request_stop() if row["step"] >= 4 else None)
    assert tr.run() == "stopped"
    assert run.read_status()["state"] == "stopped" and not run.stop_requested()
    _, _, meta = load_generator(run.checkpoint("latest"))
    assert meta["step"] == 5  # the step in flight when STOP appeared was finished and saved


def test_nan_loss_fails_the_run_with_a_clear_status(tmp_path: Path) -> None:
    cfg = tiny_run(steps=6)
    run = RunDir(tmp_path / "run")
    run.create(cfg)
    images, labels = data()
    tr = Trainer(cfg, images, labels, run)
    with torch.no_grad():
        tr.D.main[0].weight.fill_(float("nan"))
    with pytest.raises(TrainingError, match="diverged"):
        tr.run()
    status = run.read_status()
    assert status["state"] == "failed" and "diverged" in status["error"]


def test_hooks_fire(tmp_path: Path) -> None:
    cfg = tiny_run(steps=4)
    run = RunDir(tmp_path / "run")
    run.create(cfg)
    seen: dict[str, list[int]] = {"step": [], "sample": [], "ckpt": []}
    tr = Trainer(cfg, *data(), run)
    tr.add_hook("on_step", lambda t, row: seen["step"].append(row["step"]))
    tr.add_hook("on_sample", lambda t, step, path: seen["sample"].append(step))
    tr.add_hook("on_checkpoint", lambda t, step, path: seen["ckpt"].append(step))
    tr.run()
    assert seen == {"step": [2, 4], "sample": [4], "ckpt": [4]}
    with pytest.raises(ValueError):
        tr.add_hook("on_nothing", print)


def test_metrics_reader_tolerates_torn_line_and_repair(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    for s in (1, 2, 3):
        run.append_metrics({"step": s, "loss_d": 1.0})
    with open(run.metrics_path, "a") as fh:
        fh.write('{"step": 4, "loss')  # a crash mid-write
    assert [r["step"] for r in run.read_metrics()] == [1, 2, 3]
    assert run.repair_metrics(upto_step=2) == 2
    assert run.metrics_path.read_text().count("\n") == 2


def test_evaluator_runs_every_n_steps_and_picks_best(tmp_path: Path) -> None:
    cfg = tiny_run(steps=8, eval_every=3, log_every=4, ckpt_every=4)
    run = RunDir(tmp_path / "run")
    run.create(cfg)
    scores = iter([5.0, 2.0, 9.0])  # evaluations at steps 3, 6 and 8 (the end)
    tr = Trainer(cfg, *data(), run, evaluator=lambda g: {"fd": next(scores)})
    tr.run()
    rows = {r["step"]: r for r in run.read_metrics()}
    assert sorted(rows) == [3, 4, 6, 8]
    assert rows[3]["eval_fd"] == 5.0 and rows[6]["eval_fd"] == 2.0 and rows[8]["eval_fd"] == 9.0
    # an improving evaluation checkpoints at once and becomes best (step 3, then step 6 with FD 2.0);
    # the worse one at step 8 only updates latest
    _, _, best = load_generator(run.checkpoint("best"))
    _, _, latest = load_generator(run.checkpoint("latest"))
    assert best["step"] == 6 and latest["step"] == 8
    assert load_training_state(run.checkpoint("latest"))["best_score"] == 2.0


@pytest.mark.parametrize("latest_lower", [True, False])
def test_best_is_rejudged_against_latest_after_the_run(tmp_path: Path, latest_lower: bool) -> None:
    """The run's best (the minimum of its judgements) and latest are judged again after the run; latest
    becomes best when it reads lower, and an event says which step is the result and why."""
    cfg = tiny_run(steps=8, eval_every=3, log_every=4, ckpt_every=4)
    run = RunDir(tmp_path / "run")
    run.create(cfg)
    scores = iter([5.0, 2.0, 9.0])
    tr = Trainer(cfg, *data(), run, evaluator=lambda g: {"fd": next(scores)})
    tr.run()
    assert load_generator(run.checkpoint("best"))[2]["step"] == 6
    again = iter([3.0, 2.5] if latest_lower else [3.0, 4.0])  # best (step 6) first, then latest (step 8)
    event = tr.rejudge_best(lambda g: {"fd": next(again)})
    kept = 8 if latest_lower else 6
    assert load_generator(run.checkpoint("best"))[2]["step"] == kept
    assert event is not None and f"step {kept} is the run's result" in event["text"]
    assert run.read_events()[-1]["evidence"] == event["evidence"]
    assert load_generator(run.checkpoint("latest"))[2]["step"] == 8
    if latest_lower:  # best is latest now: nothing left to compare
        assert tr.rejudge_best(lambda g: {"fd": 0.0}) is None


def test_eval_decay_spreads_judgements_over_the_decay_and_best_is_the_runs_result(tmp_path: Path) -> None:
    """train.eval_decay N: on top of every eval_every steps, N judgements spread evenly over the lr
    decay (the first at its start), so `best` is picked from where the run ends; a run directory
    resolves to that best for evaluation (`resolve(run, "best")`), to latest for a resume."""
    from gan_core.checkpoints import resolve

    cfg = tiny_run(steps=20, eval_every=10, log_every=10, ckpt_every=10, lr_decay=0.5, eval_decay=4)
    run = RunDir(tmp_path / "run")
    run.create(cfg)
    judged: list[int] = []
    fds = {10: 5.0, 12: 4.0, 15: 1.5, 17: 3.0, 20: 2.5}  # the decay's best at step 15, not at the end

    def judge(g):
        judged.append(tr.step)
        return {"fd": fds.get(tr.step, 9.0)}

    tr = Trainer(cfg, *data(), run, evaluator=judge)
    tr.run()
    # decay over steps 10..20: its stretches start at steps 10, 12.5, 15, 17.5 (judged at the first step
    # past each); step 10 is also an eval_every step (judged once) and step 20 the end
    assert judged == [10, 13, 15, 18, 20]
    assert [r["step"] for r in run.read_metrics() if "eval_fd" in r] == judged
    assert load_generator(run.checkpoint("best"))[2]["step"] == 15
    assert resolve(run.path, "best") == run.checkpoint("best") and resolve(run.path) == run.checkpoint("latest")
    # a plain run (eval_decay 0) judges every eval_every steps only
    plain = tiny_run(steps=20, eval_every=10, log_every=10, ckpt_every=10, lr_decay=0.5)
    steps: list[int] = []
    Trainer(plain, *data(), None, evaluator=lambda g: steps.append(1) or {"fd": 1.0}).run()
    assert len(steps) == 2


def test_a_stopped_run_judges_its_end(tmp_path: Path) -> None:
    """A stop between judgements (a time budget, Stop in the app) judges the checkpoint it writes, so
    the run's end can be its best."""
    cfg = tiny_run(steps=50, eval_every=4, log_every=4, ckpt_every=50)
    run = RunDir(tmp_path / "run")
    run.create(cfg)
    judged: list[int] = []

    def judge(g):
        judged.append(tr.step)
        return {"fd": 10.0 - tr.step}

    tr = Trainer(cfg, *data(), run, evaluator=judge)
    tr.add_hook("on_step", lambda t, row: t.request_stop() if t.step >= 8 else None)
    assert tr.run() == "stopped"
    # the stop asked at step 8's row is seen at the next check (step 9, judged though not an eval step)
    assert judged[:2] == [4, 8] and judged[-1] == tr.step and tr.step % 4 != 0
    assert load_generator(run.checkpoint("best"))[2]["step"] == tr.step


def test_a_run_without_best_resolves_to_latest_and_which_is_checked(tmp_path: Path) -> None:
    from gan_core.checkpoints import resolve
    from gan_core.errors import CheckpointError

    cfg = tiny_run(steps=4)
    run = RunDir(tmp_path / "run")
    run.create(cfg)
    Trainer(cfg, *data(), run).run()
    import shutil

    shutil.rmtree(run.checkpoint("best"))  # e.g. a run written before `best` existed
    assert resolve(run.path, "best") == run.checkpoint("latest")
    with pytest.raises(CheckpointError, match="one of best, latest"):
        resolve(run.path, "newest")


@pytest.mark.parametrize("arch", ["dcgan", "acgan"])
def test_r1_runs_every_n_d_updates_scaled_by_n(monkeypatch: pytest.MonkeyPatch, arch: str) -> None:
    import gan_core.training as training

    calls: list[int] = []
    real_r1 = training.r1_penalty
    monkeypatch.setattr(training, "r1_penalty", lambda critic, real, scale=None: calls.append(1) or real_r1(critic, real, scale))
    trainer = Trainer(tiny_run(arch, steps=8, r1_gamma=1.0, r1_every=3), *data(), None)
    logged = [("r1" in trainer.train_step()) for _ in range(7)]
    assert logged == [True, False, False, True, False, False, True] and len(calls) == 3
    # the penalty enters D's loss: same start, different D after one step
    plain, with_r1 = (Trainer(tiny_run(arch, steps=1, **kw), *data(), None) for kw in ({}, {"r1_gamma": 10.0}))
    plain.train_step()
    with_r1.train_step()
    assert not all(torch.equal(a, b) for a, b in zip(plain.D.parameters(), with_r1.D.parameters()))


def test_logged_r1_is_the_mean_of_the_steps_that_computed_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """R1 runs on 2 of the 6 steps of a logging window: its row holds their mean, not a sixth of their sum."""
    import gan_core.training as training

    values: list[float] = []
    real_r1 = training.r1_penalty

    def spy(critic, real, scale=None):
        out = real_r1(critic, real, scale)
        values.append(float(out.detach()))
        return out

    monkeypatch.setattr(training, "r1_penalty", spy)
    trainer = Trainer(tiny_run("dcgan", steps=6, log_every=6, r1_gamma=1.0, r1_every=3), *data(), None)
    rows: list[dict] = []
    trainer.add_hook("on_step", lambda t, row: rows.append(row))
    trainer.run()
    assert len(values) == 2 and len(rows) == 1
    assert rows[0]["r1"] == pytest.approx(sum(values) / 2, rel=1e-3, abs=1e-5)


def test_r1_config_is_checked() -> None:
    from gan_core.errors import ConfigError

    with pytest.raises(ConfigError, match="r1_gamma must be 0"):
        TrainConfig(r1_gamma=-1.0)
    with pytest.raises(ConfigError, match="r1_every must be at least 1"):
        TrainConfig(r1_every=0)
    with pytest.raises(ConfigError, match="wgan-gp already has its own gradient penalty"):
        TrainConfig(loss="wgan-gp", r1_gamma=1.0)


@pytest.mark.parametrize("aux_on_fake,expected", [(True, 3), (False, 2)])
def test_aux_real_only_drops_the_fake_class_loss_from_d(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         aux_on_fake: bool, expected: int) -> None:
    import gan_core.training as training

    calls: list[int] = []
    real_aux = training.aux_loss
    monkeypatch.setattr(training, "aux_loss", lambda logits, labels: calls.append(1) or real_aux(logits, labels))
    cfg = tiny_run("acgan", steps=1, aux_on_fake=aux_on_fake)
    Trainer(cfg, *data(), None).train_step()
    assert len(calls) == expected  # D: real (+ fake); G: its own class loss


def test_cuda_steps_are_timed_with_a_synchronise_at_log_steps_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loop waits for the device only where other work follows (here the logging steps 2, 4,
    6, 8 and the sample/checkpoint steps 4, 8), never every step, and then reads the clock:
    train time covers every training step."""
    import gan_core.training as training

    synced: list[int] = []
    trainer = Trainer(tiny_run("dcgan", steps=8, sample_every=4, ckpt_every=4), *data(), None)
    monkeypatch.setattr(training, "synchronize", lambda device: synced.append(trainer.step))
    rows: list[dict] = []
    trainer.add_hook("on_step", lambda t, row: rows.append(row))
    trainer.run()
    # one before the first step, then two at each boundary (before reading the clock, after the work)
    assert synced == [0, 2, 2, 4, 4, 6, 6, 8, 8]
    assert [r["step"] for r in rows] == [2, 4, 6, 8] and all(r["img_per_s"] > 0 for r in rows)
    assert 0 < trainer.elapsed and rows[-1]["time"] == round(trainer.elapsed, 2)


def test_distributed_stop_check_runs_every_k_steps_and_at_log_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under DDP agreeing on a stop costs an all-reduce and a device read: the ranks do it every
    STOP_CHECK_EVERY steps and at logging steps, not every step (simulated 2-rank run)."""
    import torch.nn as nn

    from gan_core import distributed as distmod

    class FakeDDP(nn.Module):
        def __init__(self, module: nn.Module, **_kw):
            super().__init__()
            self.module = module

        def forward(self, *a, **kw):
            return self.module(*a, **kw)

    checks: list[int] = []
    monkeypatch.setattr(distmod, "init", lambda info, device_type: None)
    monkeypatch.setattr(distmod, "DDP", FakeDDP)
    monkeypatch.setattr(distmod, "all_mean", lambda t, info: t)
    monkeypatch.setattr(distmod, "barrier", lambda info: None)
    trainer = Trainer(tiny_run("dcgan", steps=25, batch_size=16, log_every=12, sample_every=100, ckpt_every=100),
                      *data(), None, dist=distmod.DistInfo(rank=0, world=2, local_rank=0))
    monkeypatch.setattr(distmod, "any_flag", lambda flag, info, device: checks.append(trainer.step) or flag)
    trainer.run()
    assert distmod.STOP_CHECK_EVERY == 10
    assert checks == [10, 12, 20, 24, 25]
    # a stop requested on this rank takes effect at the next check
    trainer.request_stop()
    checks.clear()
    assert trainer.run(40) == "stopped" and checks == [30] and trainer.step == 30


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (this machine has none)")
def test_cuda_train_time_covers_the_gpu_work() -> None:
    """On a GPU a step returns long before its kernels finish; the trainer's train time must be
    the GPU's time, not the time to queue the work: within 20% of the externally synchronised
    wall time of the same steps (unsynchronised, a DCGAN-64 batch of 512 is queued several times
    faster than an H100-class GPU runs it)."""
    import time

    cfg = RunConfig(ModelConfig(arch="dcgan", image_size=64, channels=3), DataConfig(source="x"),
                    TrainConfig(steps=12, batch_size=512, log_every=5, sample_every=1000, ckpt_every=1000,
                                device="cuda"))
    images = np.random.RandomState(0).randint(0, 256, (1024, 64, 64, 3), dtype=np.uint8)
    tr = Trainer(cfg, images, np.zeros(1024, np.int64), None)
    tr.run(2)  # warm-up: allocations, kernel selection
    torch.cuda.synchronize()
    before, t0 = tr.elapsed, time.perf_counter()
    tr.run(12)
    torch.cuda.synchronize()
    wall, train = time.perf_counter() - t0, tr.elapsed - before
    assert 0.8 * wall <= train <= wall, (train, wall)
