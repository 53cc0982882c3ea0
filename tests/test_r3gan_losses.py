"""The relativistic pairing loss and the zero-centred R1/R2 penalties (against finite differences)."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from gan_core.losses import d_loss, g_loss, r1_penalty, r2_penalty


def test_rpgan_is_the_softplus_of_the_paired_difference_and_shift_invariant() -> None:
    torch.manual_seed(0)
    real, fake = torch.randn(16), torch.randn(16)
    assert torch.allclose(d_loss("rpgan", real, fake), F.softplus(fake - real).mean())
    assert torch.allclose(g_loss("rpgan", fake, real), F.softplus(real - fake).mean())
    # relativistic: a shift of every logit changes nothing
    assert torch.allclose(d_loss("rpgan", real + 3.0, fake + 3.0), d_loss("rpgan", real, fake))
    # D wins when real scores above its pair; then G loses
    assert d_loss("rpgan", real + 5, real) < d_loss("rpgan", real, real + 5)
    assert g_loss("rpgan", real, real + 5) > g_loss("rpgan", real + 5, real)


def test_rpgan_generator_loss_needs_the_real_logits() -> None:
    with pytest.raises(ValueError, match="paired real"):
        g_loss("rpgan", torch.zeros(4))


def test_rpgan_generator_gradient_does_not_reach_the_real_logits() -> None:
    real = torch.randn(8, requires_grad=True)
    fake = torch.randn(8, requires_grad=True)
    g_loss("rpgan", fake, real).backward()
    assert real.grad is None and fake.grad is not None and (fake.grad < 0).all()


class Quadratic(nn.Module):
    """A small critic with a non-linear input gradient: sum(tanh(W x)) per sample."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(6, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.lin(x.flatten(1))).sum(1)


def fd_input_grad_sq(critic: nn.Module, x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """E ||d critic / dx||^2 by central differences, one coordinate at a time."""
    x = x.double()
    total = torch.zeros(x.shape[0], dtype=torch.float64)
    flat = x.flatten(1)
    for j in range(flat.shape[1]):
        e = torch.zeros_like(flat)
        e[:, j] = eps
        plus, minus = critic((flat + e).view_as(x)), critic((flat - e).view_as(x))
        total += ((plus - minus) / (2 * eps)) ** 2
    return total.mean()


@pytest.mark.parametrize("penalty", [r1_penalty, r2_penalty])
def test_penalty_matches_finite_differences(penalty) -> None:
    torch.manual_seed(0)
    critic = Quadratic().double()
    x = torch.randn(4, 1, 2, 3, dtype=torch.float64)
    got = penalty(critic, x)
    want = fd_input_grad_sq(critic, x)
    assert torch.allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("penalty", [r1_penalty, r2_penalty])
def test_penalty_gradient_wrt_weights_matches_finite_differences(penalty) -> None:
    """create_graph=True: the penalty trains the critic; d penalty / d w by central differences."""
    torch.manual_seed(1)
    critic = Quadratic().double()
    x = torch.randn(3, 6, dtype=torch.float64)
    penalty(critic, x).backward()
    analytic = critic.lin.weight.grad.clone()
    eps = 1e-6
    for (i, j) in [(0, 0), (2, 3), (4, 5)]:
        w = critic.lin.weight.data  # moved outside autograd; the penalty itself needs autograd
        w[i, j] += eps
        up = penalty(critic, x).item()
        w[i, j] -= 2 * eps
        down = penalty(critic, x).item()
        w[i, j] += eps
        assert abs((up - down) / (2 * eps) - analytic[i, j].item()) < 1e-6 * max(1.0, abs(analytic[i, j].item()))


def test_penalty_does_not_train_the_images() -> None:
    critic = Quadratic()
    fake = torch.randn(2, 6, requires_grad=True)
    r2_penalty(critic, fake * 2).backward()
    assert fake.grad is None


def test_mode_seeking_is_large_when_different_latents_give_the_same_picture() -> None:
    from gan_core.losses import mode_seeking

    gen = torch.Generator().manual_seed(0)
    z = torch.randn(8, 4, generator=gen)
    same = torch.randn(1, 1, 6, 6, generator=gen).repeat(8, 1, 1, 1) + 1e-3 * torch.randn(8, 1, 6, 6, generator=gen)
    varied = torch.randn(8, 1, 6, 6, generator=gen)
    assert float(mode_seeking(same, z)) > 100 * float(mode_seeking(varied, z))
    # it is 1 / (mean |x_a - x_b| / mean |z_a - z_b|) over the pairs (0, 1), (2, 3), ...
    expected = 1.0 / ((varied[0::2] - varied[1::2]).abs().mean() / (z[0::2] - z[1::2]).abs().mean() + 1e-5)
    assert float(mode_seeking(varied, z)) == pytest.approx(float(expected), rel=1e-6)
    # an odd batch leaves its last image out; minimising the term pulls a pair's images apart
    x = varied[:7].clone().requires_grad_(True)
    mode_seeking(x, z[:7]).backward()
    step = x.detach() - 0.1 * x.grad
    assert (step[0] - step[1]).abs().mean() > (varied[0] - varied[1]).abs().mean()
    assert float(x.grad[6].abs().sum()) == 0.0
    with pytest.raises(ValueError, match="pair"):
        mode_seeking(varied[:1], z[:1])
