"""How spread out a batch of images is, in pixel space: the units of the trainer's sample health
(`training.Trainer.health`) and of the guard's collapse rules (`guard_rules`)."""

from __future__ import annotations

import torch


def mean_pdist(a: torch.Tensor) -> float:
    """Mean distance between two different rows of a (N, D)."""
    n = a.shape[0]
    return float(torch.cdist(a, a).sum() / max(1, n * (n - 1)))


def within_class_share(x: torch.Tensor, labels: torch.Tensor) -> float | None:
    """How much of the spread of images x (N, D) lies within their classes: the mean pairwise
    distance inside each class (classes with 2+ images, averaged) over that of all of x. Near 0:
    every class's images are alike (one picture per class); None when no class has 2 images or
    all of x is identical."""
    within = [mean_pdist(x[labels == k]) for k in labels.unique() if int((labels == k).sum()) >= 2]
    overall = mean_pdist(x)
    if not within or overall < 1e-8:
        return None
    return sum(within) / len(within) / overall
