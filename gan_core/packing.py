"""Packing (PacGAN, Lin et al. 2018): the discriminator judges groups of `pack` images at once.

`model.d_pack` p > 1 stacks each run of p consecutive images of a batch along the channels, so D
reads (B/p, p*C, S, S) and gives one logit (and one row of class scores) per group. A generator
that draws alike pictures for different z makes groups that look unlike real groups, which D
sees at once. Every stage of D then runs on B/p items, so a D step costs about 1/p as much.

For a class-conditional model each group holds images of one class, its label the group's: the
fakes' labels are drawn per group (`share_class`), and a real batch is regrouped by class
(`class_groups`): sorted by class, each class cut into groups of p, a class's last group filled
up with more images of that class from the dataset, and B/p of the groups kept at random.
"""

from __future__ import annotations

from typing import Callable

import torch


def pack(x: torch.Tensor, p: int, channels_last: bool = False) -> torch.Tensor:
    """(B, C, S, S) -> (B/p, p*C, S, S): images i*p .. i*p+p-1 stacked along the channels (image
    i*p's channels first), in channels_last memory when asked (the layout D's weights have)."""
    if p == 1:
        return x
    b, c, h, w = x.shape
    if b % p:
        raise ValueError(f"a batch of {b} images cannot be cut into groups of {p}")
    y = x.reshape(b // p, p * c, h, w)  # (B/p, p*C, S, S); copies when x is not in NCHW order
    return y.contiguous(memory_format=torch.channels_last) if channels_last else y


def group_labels(labels: torch.Tensor | None, p: int) -> torch.Tensor | None:
    """(B,) labels of a batch whose groups of p share a class -> (B/p,) the groups' labels."""
    return labels if labels is None or p == 1 else labels[::p]


def share_class(labels: torch.Tensor, g: int) -> torch.Tensor:
    """Labels (B,) with each run of g (0..g-1, g..2g-1, ...) set to the class of its first one, in place."""
    for i in range(1, g):
        labels[i::g] = labels[0::g][: labels[i::g].shape[0]]
    return labels


def class_groups(items: torch.Tensor, labels: torch.Tensor, p: int,
                 more: Callable[[int, int], torch.Tensor]) -> torch.Tensor:
    """Items (B,) with these labels (B,) arranged in groups of p of one class, (G, p): each class's
    items in their order, cut into groups of p; a class's last group is filled up with `more(c, n)`
    (n more items of class c). Every item appears once; G >= B/p."""
    groups = []
    order = torch.argsort(labels, stable=True)
    classes, counts = torch.unique_consecutive(labels[order], return_counts=True)
    start = 0
    for c, n in zip(classes.tolist(), counts.tolist()):
        mine = items[order[start:start + n]]
        start += n
        short = -n % p
        if short:
            mine = torch.cat([mine, more(c, short).to(mine.dtype)])
        groups.append(mine.view(-1, p))
    return torch.cat(groups)
