"""Shared test setup: tiny models, an isolated dataset cache, a tiny image folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

# the generators shipped in checkpoints/ (test_model_cards checks this list against the folder)
SHIPPED = ("mnist-acgan", "mnist-dcgan", "orl-faces-acgan", "orl-faces-r3gan")


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    # the decoded-dataset cache goes to a temp folder, never into the checkout
    os.environ.setdefault("GAN_STUDIO_CACHE", str(tmp_path_factory.mktemp("dataset-cache")))


def write_image_folder(root: Path, classes: dict[str, int], size: int = 24, mode: str = "RGB",
                       seed: int = 0) -> Path:
    """root/<class>/<i>.png with `classes[class]` random images each ("" = flat folder)."""
    from PIL import Image

    rng = np.random.RandomState(seed)
    for name, count in classes.items():
        d = root / name if name else root
        d.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            c = 3 if mode == "RGB" else 1
            arr = rng.randint(0, 256, (size, size + 4, c), dtype=np.uint8)
            Image.fromarray(arr if c == 3 else arr[:, :, 0], mode).save(d / f"{i}.png")
    return root


@pytest.fixture
def tiny_folder(tmp_path: Path) -> Path:
    return write_image_folder(tmp_path / "shapes", {"circles": 20, "squares": 20})
