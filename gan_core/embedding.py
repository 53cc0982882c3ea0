"""The label-free embedding: what measures a generator of an unlabelled dataset.

An unlabelled upload has no classes to train a judge classifier on, and the project downloads
no weights (no Inception). Its features come from a small convolutional network whose weights
are *random and fixed*: drawn from numpy's `RandomState(seed)` (the same numbers on every
machine and torch version), never trained. Randomly initialised networks are a known stand-in
for a trained embedding where none fits the domain: Naeem et al. 2020 (random VGG features for
non-ImageNet data) and Lee, Kim & Lee 2022 ("Demystifying randomly initialized networks for
evaluating generative models") find their Fréchet distances rank generators much as trained
features do. What it measures is the statistics of local structure at several scales (edges,
strokes, textures, blobs) and the coarse layout of the picture, not what the picture means.

Why not a small net trained self-supervised on the upload: it would cost minutes per dataset,
add a training recipe with its own failure modes, and change with every dataset, so figures
could not be compared across uploads; the random net is instant, deterministic and the same
for everyone. Its figures are FD and KID against the real-vs-real baseline, precision/recall
and the memorisation check; no class figures (there are no classes).

Features: four stages of 3x3 conv + ReLU (the first three followed by a 2x2 average pool); the
global average of each stage's channels plus the last stage's 2x2 spatial average, 240 numbers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .device import inference_autocast
from .images import model_input

KIND = "label-free embedding"


@dataclass(frozen=True)
class EmbeddingConfig:
    name: str = "random-conv"
    image_size: int = 32  # images are resized to this side first
    channels: int = 1  # grey images are measured grey, colour ones in colour
    widths: tuple[int, ...] = (16, 32, 64, 32)
    seed: int = 0

    @property
    def feature_dim(self) -> int:
        return sum(self.widths[:-1]) + 4 * self.widths[-1]  # 16 + 32 + 64 + 2x2x32 = 240

    def describe(self) -> str:
        return (f"{KIND}: random conv net ({len(self.widths)} stages of widths "
                f"{'/'.join(map(str, self.widths))}, weights from numpy seed {self.seed}, never trained, "
                f"nothing downloaded) at {self.image_size} px, {self.feature_dim} features")


class RandomConvNet(nn.Module):
    """image (B, C, S, S) in [-1, 1] -> features (B, feature_dim); weights fixed at construction."""

    def __init__(self, cfg: EmbeddingConfig):
        super().__init__()
        rng = np.random.RandomState(cfg.seed)
        self.convs = nn.ModuleList()
        c_in = cfg.channels
        for c in cfg.widths:
            conv = nn.Conv2d(c_in, c, 3, padding=1)
            # He-normal weights keep each ReLU stage's activations of the same order
            w = rng.standard_normal((c, c_in, 3, 3)) * np.sqrt(2.0 / (c_in * 9))
            b = rng.standard_normal(c) * 0.1
            conv.weight.data = torch.from_numpy(w.astype(np.float32))
            conv.bias.data = torch.from_numpy(b.astype(np.float32))
            conv.requires_grad_(False)
            self.convs.append(conv)
            c_in = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = []
        last = len(self.convs) - 1
        for i, conv in enumerate(self.convs):
            x = F.relu(conv(x))  # (B, c_i, s_i, s_i)
            if i < last:
                feats.append(x.mean(dim=(2, 3)))  # (B, c_i) global average
                x = F.avg_pool2d(x, 2)  # s_i -> s_i / 2
            else:
                feats.append(F.adaptive_avg_pool2d(x, 2).flatten(1))  # (B, 4 c_last) coarse layout
        return torch.cat(feats, dim=1)  # (B, feature_dim)


class RandomEmbedding:
    """uint8 images in, label-free features out (the same interface as judges.Judge, without classes)."""

    kind = KIND

    def __init__(self, cfg: EmbeddingConfig):
        self.cfg = cfg
        self.net = RandomConvNet(cfg).eval()

    @property
    def name(self) -> str:
        return self.cfg.describe()

    def weights_id(self) -> str:
        """The config decides the weights, so it identifies them (for caches of their features)."""
        text = json.dumps(dataclasses.asdict(self.cfg), sort_keys=True)
        return hashlib.sha256(f"random-embedding-v1|{text}".encode()).hexdigest()[:16]

    def _prepare(self, images: np.ndarray) -> torch.Tensor:
        """(N, H, W, C) uint8 -> (N, channels, S, S) float in [-1, 1]."""
        return model_input(images, self.cfg.channels, self.cfg.image_size)

    @torch.inference_mode()
    def run(self, images: np.ndarray, batch: int = 128) -> tuple[np.ndarray, None]:
        """(features (N, feature_dim) float32, None): there are no class predictions."""
        feats = []
        with inference_autocast(torch.device("cpu")):
            for i in range(0, len(images), batch):
                feats.append(self.net(self._prepare(images[i:i + batch])).float().numpy())
        if not feats:
            return np.zeros((0, self.cfg.feature_dim), np.float32), None
        return np.concatenate(feats).astype(np.float32), None


def embedding_for(image_size: int, channels: int) -> RandomEmbedding:
    """The label-free embedding for images of this side (measured at 32 px up to 32, else 64)."""
    return RandomEmbedding(EmbeddingConfig(image_size=32 if image_size <= 32 else 64, channels=channels))
