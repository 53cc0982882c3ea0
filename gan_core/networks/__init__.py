"""Network registry: build a generator/discriminator pair from a ModelConfig."""

from __future__ import annotations

import torch.nn as nn

from ..config import ModelConfig
from .acgan import ACGANDiscriminator, ACGANGenerator
from .dcgan import DCGANDiscriminator, DCGANGenerator
from .r3gan import R3GANDiscriminator, R3GANGenerator
from .upsample_conv import for_inference

GENERATORS = {"dcgan": DCGANGenerator, "acgan": ACGANGenerator, "r3gan": R3GANGenerator}
DISCRIMINATORS = {"dcgan": DCGANDiscriminator, "acgan": ACGANDiscriminator, "r3gan": R3GANDiscriminator}
OWN_INIT = ("r3gan",)  # archs whose networks initialise themselves (zero-init residual branches)


def init_weights(module: nn.Module) -> None:
    """DCGAN init: conv weights N(0, 0.02); norm scales N(1, 0.02) and shifts 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def build_generator(cfg: ModelConfig, init: bool = True) -> nn.Module:
    g = GENERATORS[cfg.arch](cfg)
    if init and cfg.arch not in OWN_INIT:
        init_weights(g)
    return g


def build_discriminator(cfg: ModelConfig, init: bool = True) -> nn.Module:
    d = DISCRIMINATORS[cfg.arch](cfg)
    if init and cfg.arch not in OWN_INIT:
        init_weights(d)
    return d


__all__ = [
    "ACGANDiscriminator", "ACGANGenerator", "DCGANDiscriminator", "DCGANGenerator", "R3GANDiscriminator",
    "R3GANGenerator",
    "build_discriminator", "build_generator", "for_inference", "init_weights",
]
