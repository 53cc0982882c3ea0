"""Sample grids of catalogue checkpoints for the Home page (rendered through the render hub)."""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_IDENTITIES = 32


def gallery_layout(num_classes: int, conditional: bool) -> tuple[list[int], list[int] | None, int]:
    """(seeds, labels, images per row) of a checkpoint's gallery grid.

    ACGAN with <= 10 classes: one row per class, the same 8 seeds across; ACGAN with more
    classes (faces): one image per identity; DCGAN: 32 seeds.
    """
    if conditional and num_classes <= 10:
        cols = 8
        return [s for _ in range(num_classes) for s in range(cols)], \
            [c for c in range(num_classes) for _ in range(cols)], cols
    if conditional:
        k = min(num_classes, MAX_IDENTITIES)
        return list(range(k)), list(range(k)), 8
    return list(range(32)), None, 8


def gallery_grid(name: str) -> tuple[np.ndarray, dict[str, Any]]:
    """The grid image (H, W, C) uint8 and the service's info for a catalogue name."""
    from gan_core.images import make_grid

    from .services import hub

    svc = hub().get(name)
    info = svc.info
    seeds, labels, cols = gallery_layout(info["num_classes"], svc.conditional)
    images = svc.render_seeds(seeds, labels)
    return make_grid(images, nrow=cols, padding=2), info


def weights_hash(name: str) -> str:
    """Cache key part: changes when a published name is replaced by other weights."""
    from gan_core.checkpoints import weights_hash as _hash

    from .catalog import resolve

    return _hash(resolve(name).path)
