"""A second opinion on class consistency: a classifier that shares nothing with the project's judge.

    python -m gan_core.sample --checkpoint checkpoints/mnist-acgan --classes all --n 1000 --seed 0 --out x.npz
    python scripts/independent_digit_check.py x.npz

Trains a LeNet-5-style network (5x5 convs, average pooling, tanh, no BatchNorm, 28x28 input, fp32,
its own seed) on the MNIST training split, reports its test accuracy, then the share of the
sampled images it reads as their requested label, overall and per class.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gan_core.data import load_dataset  # noqa: E402


class LeNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 6, 5, padding=2), nn.Conv2d(6, 16, 5)
        self.f1, self.f2, self.f3 = nn.Linear(16 * 5 * 5, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 1, 28, 28)
        x = F.avg_pool2d(torch.tanh(self.c1(x)), 2)  # (B, 6, 14, 14)
        x = F.avg_pool2d(torch.tanh(self.c2(x)), 2)  # (B, 16, 5, 5)
        x = torch.tanh(self.f1(x.flatten(1)))
        return self.f3(torch.tanh(self.f2(x)))


def to_input(images: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    return F.interpolate(x, size=(28, 28), mode="bilinear", antialias=True, align_corners=False)


def main() -> int:
    npz = np.load(sys.argv[1])
    torch.manual_seed(12345)
    train, test = load_dataset("mnist", 28, split="train"), load_dataset("mnist", 28, split="test")
    xtr, ytr = to_input(train.images), torch.from_numpy(train.labels)
    net = LeNet()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    t0 = time.time()
    for epoch in range(3):
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 128):
            idx = perm[i:i + 128]
            loss = F.cross_entropy(net(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        acc = (net(to_input(test.images)).argmax(1).numpy() == test.labels).mean()
        pred = net(to_input(npz["images"])).argmax(1).numpy()
    labels = npz["labels"]
    hit = pred == labels
    print(f"independent LeNet-5: MNIST test accuracy {acc:.4f} (trained {time.time() - t0:.0f} s)")
    print(f"samples read as their requested class: {hit.mean():.4f} of {len(labels)}")
    print("per class: " + "  ".join(f"{k}:{hit[labels == k].mean():.3f}" for k in range(10)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
