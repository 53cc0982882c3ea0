"""Test support for the panel: tiny checkpoints with visible contrast and a controlled catalogue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from bench.http import free_port  # noqa: F401  (one home for it; the tests that start servers use e2e_servers)
from gan_core.checkpoints import save_checkpoint
from gan_core.config import ModelConfig
from gan_core.networks import build_generator

TINY = {
    "digits": ModelConfig(arch="acgan", image_size=32, channels=1, nz=16, ngf=8, num_classes=10),
    "faces": ModelConfig(arch="acgan", image_size=32, channels=3, nz=16, ngf=8, num_classes=4,
                         class_names=["ann", "bob", "cy", "dee"]),
    "plain": ModelConfig(arch="dcgan", image_size=32, channels=3, nz=16, ngf=8),
    # long class names, as a labelled upload gives them (issue 20: strip labels were cut to "0: 0-t...")
    "fashion": ModelConfig(arch="acgan", image_size=32, channels=1, nz=16, ngf=8, num_classes=10,
                           class_names=["0-t-shirt-top", "1-trouser", "2-pullover", "3-dress", "4-coat",
                                        "5-sandal", "6-shirt", "7-sneaker", "8-bag", "9-ankle-boot"]),
}


def make_checkpoints(root: Path, names: tuple[str, ...] = ("digits", "faces", "plain")) -> Path:
    """root/<name>/ checkpoints with random weights; the last layer is scaled so images have contrast."""
    torch.manual_seed(0)
    for name in names:
        cfg = TINY[name]
        g = build_generator(cfg).eval()
        last = [m for m in g.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))][-1]
        with torch.no_grad():
            last.weight.mul_(40.0)
        save_checkpoint(root / name, cfg, g)
    return root


def use_catalogue(monkeypatch: pytest.MonkeyPatch, shipped: Path, home: Path) -> None:
    """Point the catalogue at `shipped` (as the shipped folder) and the app home at `home`."""
    import ui.catalog
    import ui.paths

    monkeypatch.setenv("GAN_STUDIO_HOME", str(home))
    monkeypatch.setattr(ui.paths, "SHIPPED_DIR", shipped)
    monkeypatch.setattr(ui.catalog, "SHIPPED_DIR", shipped)


def panel_logic(monkeypatch: pytest.MonkeyPatch, shipped: Path, home: Path) -> Any:
    """A PanelLogic over a catalogue of `shipped` checkpoints, rendering on the calling thread."""
    from ui.panel_logic import PanelLogic
    from ui.services import RenderHub

    use_catalogue(monkeypatch, shipped, home)
    return PanelLogic(RenderHub(threads=0))


def control_values(**changes: Any) -> dict[str, Any]:
    """The panel's recipe controls by name, as Gradio passes them: a default digits recipe, some changed."""
    from gan_core.explore import Recipe
    from ui.recipe import to_controls

    return {**to_controls(Recipe(checkpoint="digits")), **changes}


def pixels(im: Any) -> np.ndarray:
    """(H, W, C) uint8 of a PIL image (greyscale gets its channel axis back)."""
    a = np.array(im)
    return a[:, :, None] if a.ndim == 2 else a
