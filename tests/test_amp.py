"""fp16 training with loss scaling, reachable on the CPU: autocast(cpu, float16) and
torch.amp.GradScaler("cpu") run the same scaler logic a CUDA GPU without native bf16 (T4, V100)
gets. And the AMP gradient-penalty recipe, checked against finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gan_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from gan_core.device import Policy
from gan_core.losses import gradient_penalty, input_gradient, r1_penalty
from gan_core.training import Trainer

SCALE = 2.0 ** 16  # GradScaler's initial scale


def fp16_trainer(steps: int = 3, d_norm: str = "layer", **train) -> Trainer:
    cfg = RunConfig(ModelConfig(arch="dcgan", image_size=32, channels=1, nz=8, ngf=4, ndf=4, d_norm=d_norm),
                    DataConfig(source="synthetic"), TrainConfig(steps=steps, batch_size=8, **train))
    images = np.random.RandomState(0).randint(0, 256, (64, 32, 32, 1), dtype=np.uint8)
    fp16_cpu = Policy(torch.device("cpu"), torch.float16, channels_last=True, use_scaler=True)
    return Trainer(cfg, images, np.zeros(64, np.int64), None, policy=fp16_cpu)


@pytest.mark.parametrize("train", [{"loss": "wgan-gp"}, {"loss": "bce", "n_critic": 2, "r1_gamma": 1.0,
                                                          "r1_every": 1}])
def test_fp16_with_several_d_steps_per_g_step(train: dict) -> None:
    """One GradScaler served both optimisers and was updated once per G step, so the second D
    step of a step raised "step() has already been called since the last update()" (WGAN-GP's
    5 critic steps, or --n-critic 2). Each optimiser now has its own scaler, updated after
    each of its steps."""
    tr = fp16_trainer(**train)
    assert tr.scaler_d is not None and tr.scaler_d.is_enabled() and tr.scaler_d is not tr.scaler_g
    calls: list[str] = []
    for name, scaler in (("d", tr.scaler_d), ("g", tr.scaler_g)):
        for method in ("step", "update"):
            real = getattr(scaler, method)
            setattr(scaler, method, lambda *a, _r=real, _n=f"{name}.{method}", **kw: calls.append(_n) or _r(*a, **kw))
    d0 = [p.detach().clone() for p in tr.D.parameters()]
    for _ in range(3):
        stats = tr.train_step()
    n_critic = tr.cfg.train.n_critic
    assert n_critic >= 2
    # each D step and each G step is followed by its own scaler's update
    assert calls == (["d.step", "d.update"] * n_critic + ["g.step", "g.update"]) * 3
    assert not all(torch.equal(a, b) for a, b in zip(d0, tr.D.parameters()))
    assert torch.isfinite(stats["loss_g"])


def test_fp16_scalers_round_trip_through_the_training_state() -> None:
    tr = fp16_trainer(loss="wgan-gp")
    tr.train_step()
    state = tr.training_state()
    assert set(state["scaler"]) == {"d", "g"}
    fresh = fp16_trainer(loss="wgan-gp")
    fresh.scaler_d.load_state_dict(state["scaler"]["d"])
    fresh.scaler_g.load_state_dict(state["scaler"]["g"])
    assert fresh.scaler_d.state_dict() == tr.scaler_d.state_dict()


def test_skipped_fp16_passes_are_left_out_of_the_logged_means() -> None:
    tr = fp16_trainer()
    acc: dict = {}
    counts: dict = {}
    tr._accumulate(acc, counts, {"loss_d": torch.tensor(1.0), "gp": torch.tensor(float("inf"))})
    tr._accumulate(acc, counts, {"loss_d": torch.tensor(float("nan")), "gp": torch.tensor(3.0)})
    row = tr._log_row(acc, counts, 1.0, 2)
    assert row["loss_d"] == 1.0 and row["gp"] == 3.0


# -- the penalty recipe -----------------------------------------------------------------------
def smooth_critic(w: torch.Tensor, v: torch.Tensor):
    """critic(x) = tanh(x W) . v per image, in float64: a smooth function with known gradients."""
    return lambda x: torch.tanh(x.flatten(1) @ w) @ v


def finite_difference_gradient(f, x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """d sum f(x) / dx by central differences, one coordinate at a time."""
    g = torch.zeros_like(x)
    flat, gflat = x.view(-1), g.view(-1)
    for i in range(flat.numel()):
        old = flat[i].item()
        flat[i] = old + eps
        up = f(x).sum().item()
        flat[i] = old - eps
        down = f(x).sum().item()
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return g


@pytest.mark.parametrize("scale", [None, SCALE, torch.tensor(SCALE, dtype=torch.float64)])
def test_penalties_under_scaling_match_finite_differences(scale) -> None:
    torch.manual_seed(0)
    w = torch.randn(12, 5, dtype=torch.float64, requires_grad=True)
    v = torch.randn(5, dtype=torch.float64)
    critic = smooth_critic(w, v)
    real = torch.randn(3, 1, 3, 4, dtype=torch.float64)
    fake = torch.randn(3, 1, 3, 4, dtype=torch.float64)

    grad = input_gradient(critic, real.clone().requires_grad_(True), scale)
    fd = finite_difference_gradient(lambda x: critic(x).detach(), real.clone())
    assert torch.allclose(grad, fd, rtol=1e-6, atol=1e-8)

    r1 = r1_penalty(critic, real, scale)
    assert r1.item() == pytest.approx(fd.flatten(1).pow(2).sum(1).mean().item(), rel=1e-6)
    gen = torch.Generator().manual_seed(3)
    alpha = torch.rand(3, 1, 1, 1, generator=torch.Generator().manual_seed(3)).double()  # as the penalty draws it
    x_hat = alpha * real + (1 - alpha) * fake
    fd_hat = finite_difference_gradient(lambda x: critic(x).detach(), x_hat.clone())
    gp = gradient_penalty(critic, real, fake, gen, scale)
    assert gp.item() == pytest.approx(((fd_hat.flatten(1).norm(dim=1) - 1) ** 2).mean().item(), rel=1e-6)

    # the penalty trains the critic: d r1 / dW by autograd through the scaled, unscaled
    # gradient equals finite differences of the penalty itself
    (dw,) = torch.autograd.grad(r1, w)
    fd_w = finite_difference_gradient(
        lambda ww: torch.stack([r1_penalty(smooth_critic(ww, v), real, scale).detach()]), w.detach().clone())
    assert torch.allclose(dw, fd_w, rtol=1e-5, atol=1e-7)


def test_scaling_keeps_small_fp16_gradients_from_underflowing() -> None:
    """A critic that computes in fp16 with gradients near 1e-8 (below fp16's smallest normal,
    6e-5, and at its subnormal floor): unscaled they flush to zero or lose their digits; scaled
    before autograd and unscaled in fp32 after, they match the fp32 gradient."""
    def critic(x: torch.Tensor) -> torch.Tensor:
        h = x.half() * 1e-4  # (B, N) fp16
        return (h * h).sum(1)  # d/dx = 2e-8 x, computed in fp16 on the way back

    x = torch.linspace(0.5, 1.0, 8, dtype=torch.float32).reshape(2, 4)
    exact = 2e-8 * x
    plain = input_gradient(critic, x.clone().requires_grad_(True))
    # 2^12, not GradScaler's initial 2^16: 65536 itself overflows fp16 (max 65504), so the
    # scaler's first passes give inf gradients and are skipped while it backs off to 2^15
    scaled = input_gradient(critic, x.clone().requires_grad_(True), 2.0 ** 12)
    assert torch.isinf(input_gradient(critic, x.clone().requires_grad_(True), SCALE)).all()
    assert (plain - exact).abs().max() > 0.2 * exact.max()
    assert torch.allclose(scaled, exact, rtol=2e-3)
    assert scaled.dtype == torch.float32


def test_trainer_penalties_use_the_d_scalers_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    import gan_core.training as training

    seen: list = []
    real_gp = training.gradient_penalty

    def spy(critic, real, fake, gen, scale=None):
        seen.append(scale)
        return real_gp(critic, real, fake, gen, scale)

    monkeypatch.setattr(training, "gradient_penalty", spy)
    tr = fp16_trainer(loss="wgan-gp", n_critic=1)
    tr.train_step()
    assert len(seen) == 1 and float(seen[0]) == SCALE  # the fresh D scaler's scale, as a tensor
    assert torch.is_tensor(seen[0])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (this machine has none)")
@pytest.mark.parametrize("train", [{"loss": "wgan-gp"}, {"loss": "bce", "r1_gamma": 10.0, "r1_every": 4}])
def test_cuda_fp16_trains_with_penalties(train: dict) -> None:
    cfg = RunConfig(ModelConfig(arch="dcgan", image_size=32, channels=1, nz=16, ngf=16, ndf=16,
                                d_norm="layer" if train["loss"] == "wgan-gp" else "batch"),
                    DataConfig(source="synthetic"),
                    TrainConfig(steps=20, batch_size=32, log_every=5, sample_every=100, ckpt_every=100,
                                device="cuda", precision="fp16", **train))
    images = np.random.RandomState(0).randint(0, 256, (256, 32, 32, 1), dtype=np.uint8)
    tr = Trainer(cfg, images, np.zeros(256, np.int64), None)
    assert tr.policy.amp_dtype == torch.float16 and tr.scaler_d is not None
    rows: list[dict] = []
    tr.add_hook("on_step", lambda t, row: rows.append(row))
    assert tr.run() == "finished"
    assert [r["step"] for r in rows] == [5, 10, 15, 20]
    assert all(np.isfinite(r["loss_g"]) for r in rows)
