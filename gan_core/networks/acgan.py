"""ACGAN (Odena et al. 2017) as the MNIST tutorial builds it (seed 004), with its bugs fixed.

Generator: a class embedding (num_classes x nz) multiplies the noise; a linear layer makes an
8x8 map; stages of nearest 2x upsampling + 3x3 conv double it to the image size (each computed
as one transposed convolution, see `upsample_conv.UpsampleConv3x3`); a 3x3 conv makes the image (on the CPU
as matrix products, see `ImageConv3x3`). Passing `class_embedding` instead of `labels` lets a
caller blend classes continuously.

Discriminator: stride-2 conv blocks, then two linear heads on the same features: an
adversarial logit and class logits. Unlike the tutorial: no Sigmoid/Softmax (losses take
logits) and BatchNorm eps is the default (the tutorial's `BatchNorm2d(n, 0.8)` sets eps=0.8).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ..config import ModelConfig
from .dcgan import norm_layer
from .image_conv import ImageConv3x3
from .upsample_conv import UpsampleConv3x3

INIT_SIZE = 8  # spatial size of the generator's first feature map


class ACGANGenerator(nn.Module):
    """z (B, nz) + labels (B,) or class_embedding (B, nz) -> image (B, C, S, S) in [-1, 1].

    `fast_layers=False` builds the literal Upsample + Conv2d pairs and a plain output Conv2d (the
    same function and parameters, ~2x slower), as the benchmark's seed-style step needs them."""

    def __init__(self, cfg: ModelConfig, fast_layers: bool = True):
        super().__init__()
        self.cfg = cfg
        width = 2 * cfg.ngf  # 128 at the default ngf=64, as in the tutorial
        n_up = (cfg.image_size // INIT_SIZE).bit_length() - 1  # 32 px -> 2, 64 px -> 3
        self.width = width
        self.label_emb = nn.Embedding(cfg.num_classes, cfg.nz)
        # (B, nz) -> (B, width * 8 * 8)
        self.l1 = nn.Linear(cfg.nz, width * INIT_SIZE * INIT_SIZE)
        blocks: list[nn.Module] = [nn.BatchNorm2d(width)]
        c_in = width
        for i in range(n_up):
            c_out = width if i < n_up - 1 else width // 2
            # (c_in) x s x s -> (c_out) x 2s x 2s
            # the placeholder keeps each layer's index, so state_dict keys match the plain
            # Upsample + Conv2d layout (and the checkpoints saved with it)
            up: list[nn.Module] = ([nn.Identity(), UpsampleConv3x3(c_in, c_out)] if fast_layers
                                   else [nn.Upsample(scale_factor=2), nn.Conv2d(c_in, c_out, 3, 1, 1)])
            blocks += [
                *up,
                nn.BatchNorm2d(c_out),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            c_in = c_out
        # (width/2) x S x S -> (C) x S x S
        out_conv = ImageConv3x3(c_in, cfg.channels) if fast_layers else nn.Conv2d(c_in, cfg.channels, 3, 1, 1)
        blocks += [out_conv, nn.Tanh()]
        self.conv_blocks = nn.Sequential(*blocks)

    def embed(self, labels: torch.Tensor) -> torch.Tensor:
        return self.label_emb(labels)  # (B,) -> (B, nz)

    def _first(self, z: torch.Tensor, labels: torch.Tensor | None,
               class_embedding: torch.Tensor | None) -> torch.Tensor:
        if z.dim() == 4:
            z = z.flatten(1)
        if class_embedding is None:
            if labels is None:
                raise ValueError("ACGAN needs labels or a class_embedding")
            class_embedding = self.label_emb(labels)
        h = self.l1(class_embedding * z)  # (B, width*8*8)
        return h

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None,
                class_embedding: torch.Tensor | None = None) -> torch.Tensor:
        h = self._first(z, labels, class_embedding)
        h = h.view(h.shape[0], self.width, INIT_SIZE, INIT_SIZE)  # (B, width, 8, 8)
        return self.conv_blocks(h)  # (B, C, S, S)

    def early_features(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Activations of the first layer (B, width*8*8), used to find latent directions."""
        return self._first(z, labels, None)


class ACGANDiscriminator(nn.Module):
    """image (B, C, S, S) -> (adversarial logits (B,), class logits (B, num_classes))."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        chans = [cfg.ndf, cfg.ndf * 2, cfg.ndf * 4, cfg.ndf * 8]  # 16, 32, 64, 128 by default
        layers: list[nn.Module] = []
        c_in = cfg.channels
        for i, c_out in enumerate(chans):
            # (c_in) x s x s -> (c_out) x s/2 x s/2; no norm on the first block
            layers += [
                nn.Conv2d(c_in, c_out, 3, 2, 1),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Dropout2d(0.25),
            ]
            if i > 0:
                layers += norm_layer(cfg.d_norm, c_out)
            c_in = c_out
        self.conv_blocks = nn.Sequential(*layers)
        ds = cfg.image_size // 16
        features = chans[-1] * ds * ds  # 128*2*2 at 32 px, 128*4*4 at 64 px
        self.adv_layer = nn.Linear(features, 1)
        self.aux_layer = nn.Linear(features, cfg.num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.conv_blocks(x).flatten(1)  # (B, features)
        return self.adv_layer(h).flatten(), self.aux_layer(h)  # (B,), (B, K)
