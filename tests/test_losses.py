import math

import pytest
import torch

from gan_core.losses import aux_loss, d_loss, g_loss, gradient_penalty, r1_penalty

BIG = 30.0  # a logit this large means "certain"


def test_bce_on_known_logits() -> None:
    zero = torch.zeros(4)
    # D undecided (p = 0.5): each term is log 2
    assert d_loss("bce", zero, zero).item() == pytest.approx(2 * math.log(2), rel=1e-6)
    assert g_loss("bce", zero).item() == pytest.approx(math.log(2), rel=1e-6)
    # perfect D: loss ~0; the non-saturating G loss is then large, not ~0
    assert d_loss("bce", torch.full((4,), BIG), torch.full((4,), -BIG)).item() < 1e-6
    assert g_loss("bce", torch.full((4,), -BIG)).item() == pytest.approx(BIG, rel=1e-3)


def test_label_smoothing_changes_real_target() -> None:
    real = torch.full((4,), BIG)
    fake = torch.full((4,), -BIG)
    assert d_loss("bce", real, fake, label_smoothing=0.1).item() == pytest.approx(0.1 * BIG, rel=1e-3)


def test_hinge_lsgan_wgan_on_known_logits() -> None:
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0])
    assert d_loss("hinge", real, fake).item() == pytest.approx((0 + 0.5) / 2 + (0 + 1.0) / 2)
    assert g_loss("hinge", fake).item() == pytest.approx(1.0)
    assert d_loss("lsgan", real, fake).item() == pytest.approx(0.5 * (1 + 0.25) / 2 + 0.5 * (4 + 0) / 2)
    assert g_loss("lsgan", fake).item() == pytest.approx(0.5 * (9 + 1) / 2)
    assert d_loss("wgan-gp", real, fake).item() == pytest.approx(-1.0 - 1.25)
    assert g_loss("wgan-gp", fake).item() == pytest.approx(1.0)


def test_aux_loss_is_cross_entropy_on_logits() -> None:
    logits = torch.tensor([[BIG, 0.0, 0.0], [0.0, 0.0, 0.0]])
    labels = torch.tensor([0, 2])
    assert aux_loss(logits, labels).item() == pytest.approx(math.log(3) / 2, rel=1e-4)


def test_gradient_penalty_is_zero_for_unit_gradient_and_positive_otherwise() -> None:
    real, fake = torch.randn(5, 1, 4, 4), torch.randn(5, 1, 4, 4)
    w = torch.zeros(16)
    w[3] = 1.0  # critic(x) = x[3]: gradient norm exactly 1 everywhere
    assert gradient_penalty(lambda x: x.flatten(1) @ w, real, fake).item() == pytest.approx(0.0, abs=1e-10)
    assert gradient_penalty(lambda x: 3 * x.flatten(1) @ w, real, fake).item() == pytest.approx(4.0)


def test_r1_penalty_is_the_squared_gradient_norm_on_real_images() -> None:
    real = torch.randn(6, 1, 4, 4)
    w = torch.arange(16, dtype=torch.float32) / 10  # critic(x) = w . x: gradient w for every image
    assert r1_penalty(lambda x: x.flatten(1) @ w, real).item() == pytest.approx(float(w @ w), rel=1e-6)
    # critic(x) = sum x^2: gradient 2x, so the penalty is 4 * mean ||x||^2
    expected = 4 * real.flatten(1).pow(2).sum(1).mean().item()
    assert r1_penalty(lambda x: x.flatten(1).pow(2).sum(1), real).item() == pytest.approx(expected, rel=1e-5)


def test_r1_penalty_trains_the_critic() -> None:
    w = torch.ones(16, requires_grad=True)
    r1_penalty(lambda x: x.flatten(1) @ w, torch.randn(3, 1, 4, 4)).backward()
    assert torch.allclose(w.grad, 2 * w.detach())  # d/dw ||w||^2


def test_unknown_loss() -> None:
    with pytest.raises(ValueError):
        d_loss("nope", torch.zeros(1), torch.zeros(1))
