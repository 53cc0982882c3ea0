"""GAN losses on discriminator logits.

Every function takes raw logits (never probabilities): the sigmoid, where one is needed, lives
inside `binary_cross_entropy_with_logits`, which is numerically stable. Losses are computed in
fp32 even when the networks run under autocast.

Gradient penalties under fp16 autocast follow PyTorch's AMP recipe for gradient penalties: the
critic runs under autocast (the caller's `critic` enters it), its summed output is multiplied by
the loss scale before `autograd.grad(create_graph=True)`, so that small fp16 gradients do not
underflow, and the input gradients are divided by the same scale (in fp32, outside autocast)
before the penalty is computed. A scale that overflowed gives an inf/NaN penalty, the scaled
loss's backward then gives inf gradients and the GradScaler skips that step, as it should.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

LOSS_NAMES = ("bce", "hinge", "lsgan", "wgan-gp", "rpgan")
RELATIVISTIC = ("rpgan",)  # losses whose generator term needs D's logits on the paired real images


def d_loss(kind: str, real: torch.Tensor, fake: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Discriminator loss for logits on real (B,) and fake (B,) images."""
    real, fake = real.float(), fake.float()
    if kind == "bce":
        # -log D(x) - log(1 - D(G(z))); one-sided smoothing lowers the real target only
        target_real = torch.full_like(real, 1.0 - label_smoothing)
        return (F.binary_cross_entropy_with_logits(real, target_real)
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
    if kind == "hinge":
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    if kind == "lsgan":
        return 0.5 * ((real - 1.0) ** 2).mean() + 0.5 * (fake ** 2).mean()
    if kind == "wgan-gp":
        return fake.mean() - real.mean()
    if kind == "rpgan":  # relativistic pairing (R3GAN): each real image should score above its paired fake
        return F.softplus(-(real - fake)).mean()
    raise ValueError(f"unknown loss {kind!r}; choose from {', '.join(LOSS_NAMES)}")


def g_loss(kind: str, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
    """Generator loss for D's logits on generated images (B,); a relativistic loss also takes
    D's logits on the paired real images (B,) (constants for G)."""
    fake = fake.float()
    if kind == "rpgan":
        if real is None:
            raise ValueError("the rpgan generator loss needs D's logits on the paired real images")
        return F.softplus(-(fake - real.detach().float())).mean()
    if kind == "bce":  # non-saturating: maximise log D(G(z))
        return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
    if kind in ("hinge", "wgan-gp"):
        return -fake.mean()
    if kind == "lsgan":
        return 0.5 * ((fake - 1.0) ** 2).mean()
    raise ValueError(f"unknown loss {kind!r}; choose from {', '.join(LOSS_NAMES)}")


def aux_loss(class_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """ACGAN auxiliary classifier loss: cross-entropy on class logits (B, K)."""
    return F.cross_entropy(class_logits.float(), labels)


Scale = torch.Tensor | float | None


def input_gradient(critic: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                   scale: Scale = None) -> torch.Tensor:
    """d sum(critic(x)) / dx in fp32, keeping its graph (so a penalty on it trains the critic).

    `scale`: the GradScaler's current scale under fp16 (None or 1 otherwise): the output is
    scaled before autograd and the gradient unscaled after it (the AMP gradient-penalty recipe)."""
    out = _at_least_fp32(critic(x)).sum()
    if scale is not None:
        out = out * scale
    (grad,) = torch.autograd.grad(out, x, create_graph=True)
    grad = _at_least_fp32(grad)
    return grad / scale if scale is not None else grad


def _at_least_fp32(t: torch.Tensor) -> torch.Tensor:
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                     fake: torch.Tensor, generator: torch.Generator | None = None,
                     scale: Scale = None) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E[(||grad_x D(x_hat)||_2 - 1)^2] on random interpolates."""
    b = real.shape[0]
    alpha = torch.rand(b, 1, 1, 1, generator=generator).to(real.device, real.dtype)
    x_hat = (alpha * real.detach() + (1.0 - alpha) * fake.detach()).requires_grad_(True)
    grad = input_gradient(critic, x_hat, scale)
    return ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()


def r2_penalty(critic: Callable[[torch.Tensor], torch.Tensor], fake: torch.Tensor,
               scale: Scale = None) -> torch.Tensor:
    """R2: E[||grad_x D(x)||_2^2] on generated images (zero-centred, as R1; R3GAN uses both).
    The fakes are detached: the penalty trains D only."""
    return r1_penalty(critic, fake, scale)


def r1_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
               scale: Scale = None) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): E[||grad_x D(x)||_2^2] on real images; the caller weights it
    by gamma / 2. The gradient keeps its graph, so the penalty trains D."""
    x = real.detach().requires_grad_(True)
    grad = input_gradient(critic, x, scale)
    return grad.pow(2).flatten(1).sum(1).mean()


def mode_seeking(images: torch.Tensor, z: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """MSGAN's mode-seeking term (Mao et al. 2019) for a generator batch made of pairs (2k, 2k+1)
    of the same class: 1 / (mean |x_a - x_b| / mean |z_a - z_b| + eps). It is large when different
    latents give the same picture, so minimising it makes G use z. images (B, C, S, S), z (B, nz)."""
    n = images.shape[0] // 2
    if n == 0:
        raise ValueError("the mode-seeking term needs at least one pair of images")
    x = images.float()
    dx = (x[0:2 * n:2] - x[1:2 * n:2]).abs().mean()
    dz = (z[0:2 * n:2].float() - z[1:2 * n:2].float()).abs().mean()
    return 1.0 / (dx / dz + eps)


def d_output_mean(kind: str, logits: torch.Tensor) -> torch.Tensor:
    """What to show as D(x) / D(G(z)): the mean probability for bce, the mean raw score otherwise.

    Returns a 0-d tensor, so the training loop does not synchronise with the device per step."""
    logits = logits.detach().float()
    return torch.sigmoid(logits).mean() if kind == "bce" else logits.mean()
