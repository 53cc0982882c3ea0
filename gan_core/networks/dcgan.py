"""DCGAN generator and discriminator (Radford et al. 2015), as in the PyTorch DCGAN tutorial.

The 64 px stack is the tutorial's; every factor of 2 in image size adds or removes one
stride-2 stage. The 96 px variant keeps the 32 px stack and ends in a kernel-5, stride-3,
padding-1 layer (32 -> 96). The generator's `main` Sequential uses the tutorial's layer
indices, so tutorial state_dicts (`main.N.*`) load without renaming.

The discriminator returns logits (no Sigmoid): losses apply the sigmoid themselves. Both
discriminators return (adversarial logits, class logits or None) so the trainer treats them alike.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ..config import ModelConfig


def stage_multipliers(image_size: int) -> list[int]:
    """Width multipliers (x ngf or ndf) of the stages from 4x4 up, widest first.

    64 -> [8, 4, 2, 1] (4, 8, 16, 32 px); 32 -> [4, 2, 1]; 128 -> [16, 8, 4, 2, 1];
    96 -> [8, 4, 2, 1] (4 ... 32 px, then one stride-3 layer reaches 96).
    """
    if image_size == 96:
        return [8, 4, 2, 1]
    n = image_size.bit_length() - 3  # stages from 4x4 to size/2: 64 -> 4, 32 -> 3
    return [2 ** (n - 1 - i) for i in range(n)]


def _last_layer(image_size: int) -> tuple[int, int, int]:
    """(kernel, stride, padding) of the layer that reaches the full image size."""
    return (5, 3, 1) if image_size == 96 else (4, 2, 1)


class DCGANGenerator(nn.Module):
    """z (B, nz) or (B, nz, 1, 1) -> image (B, C, S, S) in [-1, 1]."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        nz, ngf, nc = cfg.nz, cfg.ngf, cfg.channels
        mults = stage_multipliers(cfg.image_size)
        layers: list[nn.Module] = [
            # input: (B, nz, 1, 1) -> state size (ngf*m0) x 4 x 4
            nn.ConvTranspose2d(nz, ngf * mults[0], 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * mults[0]),
            nn.ReLU(True),
        ]
        for m_in, m_out in zip(mults[:-1], mults[1:]):
            # state size doubles: (ngf*m_in) x s x s -> (ngf*m_out) x 2s x 2s
            layers += [
                nn.ConvTranspose2d(ngf * m_in, ngf * m_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf * m_out),
                nn.ReLU(True),
            ]
        k, s, p = _last_layer(cfg.image_size)
        # (ngf) x S/2 x S/2 (or 32 x 32 for 96 px) -> (nc) x S x S
        layers += [nn.ConvTranspose2d(ngf * mults[-1], nc, k, s, p, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None,
                class_embedding: torch.Tensor | None = None) -> torch.Tensor:
        if labels is not None or class_embedding is not None:
            raise ValueError("DCGAN is unconditional: it takes no class labels")
        if z.dim() == 2:
            z = z[:, :, None, None]  # (B, nz) -> (B, nz, 1, 1)
        return self.main(z)  # (B, nc, S, S)

    def early_features(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Activations after the first stage (B, ngf*m0*4*4), used to find latent directions."""
        if z.dim() == 2:
            z = z[:, :, None, None]
        return self.main[:3](z).flatten(1)


def norm_layer(kind: str, channels: int) -> list[nn.Module]:
    """The discriminator's normalisation after a conv: batch, layer (over C, H, W) or none."""
    if kind == "batch":
        return [nn.BatchNorm2d(channels)]
    if kind == "layer":  # LayerNorm over (C, H, W); the WGAN-GP paper's choice for critics
        return [nn.GroupNorm(1, channels)]
    return []


class DCGANDiscriminator(nn.Module):
    """image (B, C, S, S) -> (logits (B,), None); the None stands where ACGAN has class logits."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        ndf, nc = cfg.ndf, cfg.channels
        mults = list(reversed(stage_multipliers(cfg.image_size)))  # 64 px: [1, 2, 4, 8]
        k, s, p = _last_layer(cfg.image_size)
        layers: list[nn.Module] = [
            # (nc) x S x S -> (ndf) x S/2 x S/2 (96 px: -> 32 x 32); no norm on the first layer
            nn.Conv2d(nc, ndf * mults[0], k, s, p, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        for m_in, m_out in zip(mults[:-1], mults[1:]):
            # (ndf*m_in) x s x s -> (ndf*m_out) x s/2 x s/2
            layers += [nn.Conv2d(ndf * m_in, ndf * m_out, 4, 2, 1, bias=False)]
            layers += norm_layer(cfg.d_norm, ndf * m_out)
            layers += [nn.LeakyReLU(0.2, inplace=True)]
        # (ndf*m_last) x 4 x 4 -> 1 x 1 x 1
        layers += [nn.Conv2d(ndf * mults[-1], 1, 4, 1, 0, bias=False)]
        self.main = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.main(x).flatten(), None  # (B,) logits
