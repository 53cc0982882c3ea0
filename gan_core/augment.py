"""Differentiable Augmentation (Zhao et al. 2020) for training GANs on small datasets.

The same random transform family is applied to real and fake images before the
discriminator, and gradients flow through it to the generator. Ops: `translation` (shift by
up to 1/8 of the size, zero fill), `cutout` (zero a square of half the size), `color`
(brightness, saturation, contrast). Images are in [-1, 1], layout (B, C, H, W).
Random parameters come from the caller's `torch.Generator`, so training stays reproducible.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _rand(shape: tuple[int, ...], gen: torch.Generator | None, like: torch.Tensor) -> torch.Tensor:
    return torch.rand(shape, generator=gen).to(device=like.device, dtype=like.dtype)


def _randint(high: torch.Tensor | int, shape: tuple[int, ...], gen: torch.Generator | None,
             device: torch.device) -> torch.Tensor:
    return torch.randint(0, int(high), shape, generator=gen).to(device)


def color(x: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
    b = x.shape[0]
    x = x + (_rand((b, 1, 1, 1), gen, x) - 0.5)  # brightness
    if x.shape[1] > 1:  # saturation: scale the distance from the per-pixel grey value
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * (_rand((b, 1, 1, 1), gen, x) * 2.0) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)  # contrast
    return (x - mean) * (_rand((b, 1, 1, 1), gen, x) + 0.5) + mean


def translation(x: torch.Tensor, gen: torch.Generator | None = None, ratio: float = 0.125) -> torch.Tensor:
    b, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = _randint(2 * sh + 1, (b, 1), gen, x.device) - sh  # (B, 1) shifts in [-sh, sh]
    dx = _randint(2 * sw + 1, (b, 1), gen, x.device) - sw
    padded = F.pad(x, (sw, sw, sh, sh))  # zeros around: (B, C, H + 2sh, W + 2sw)
    rows = torch.arange(h, device=x.device)[None, :] + sh - dy  # (B, H)
    cols = torch.arange(w, device=x.device)[None, :] + sw - dx  # (B, W)
    bidx = torch.arange(b, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[bidx, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2)  # (B, C, H, W), stored channels_last


def cutout(x: torch.Tensor, gen: torch.Generator | None = None, ratio: float = 0.5) -> torch.Tensor:
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = _randint(h + (1 - ch % 2), (b, 1, 1), gen, x.device)  # square centres
    cx = _randint(w + (1 - cw % 2), (b, 1, 1), gen, x.device)
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    inside = ((ys - cy).abs() * 2 < ch) & ((xs - cx).abs() * 2 < cw)  # (B, H, W)
    return x * (~inside).unsqueeze(1).to(x.dtype)


OPS = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(x: torch.Tensor, ops: list[str], gen: torch.Generator | None = None,
                 p: float | None = None) -> torch.Tensor:
    """Apply the named ops in the canonical order (color, translation, cutout).

    `p` (adaptive augmentation, gan_core.ada): each op is applied to each image with probability
    p, drawn per image and per op (None: every op to every image, plain DiffAugment). The random
    draws do not depend on p, so the RNG stream is the same whatever p is."""
    for name in ("color", "translation", "cutout"):
        if name in ops:
            if p is None:
                x = OPS[name](x, gen)
            else:
                keep = _rand((x.shape[0], 1, 1, 1), gen, x) >= p  # (B, 1, 1, 1): True = not augmented
                x = torch.where(keep, x, OPS[name](x, gen))
    return x
