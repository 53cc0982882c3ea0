"""Loading recipes into the panel's controls (ui/panel_load.py): page links, uploads, pastes, a new checkpoint, refresh."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from gan_core.explore import Recipe
from panel_support import control_values as values
from panel_support import make_checkpoints, panel_logic, pixels
from ui.panel_load import APPLY_OUTPUTS, PanelLoad
from ui.recipe import CONTROLS


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_checkpoints(tmp_path_factory.mktemp("shipped"))


@pytest.fixture
def load(shipped: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PanelLoad:
    return PanelLoad(panel_logic(monkeypatch, shipped, tmp_path / "home"))


@pytest.fixture
def warnings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    monkeypatch.setattr(gr, "Warning", lambda msg, *a, **k: seen.append(msg))
    return seen


class FakeRequest:
    def __init__(self, **params: str):
        self.query_params = params


def applied(out: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray]:
    """(control values by name, image pixels) from an apply's updates, which name every APPLY_OUTPUTS component."""
    assert set(out) == set(APPLY_OUTPUTS)
    vals = {k: (out[k].get("value") if isinstance(out[k], dict) else out[k]) for k in CONTROLS}
    return vals, pixels(out["image"])


def test_load_applies_the_recipe_in_the_url(load: PanelLoad) -> None:
    svc = load.logic.service("faces")
    r = Recipe(checkpoint="faces", weights_hash=svc.weights_hash, seed_a=21, seed_b=22, t=0.6,
               class_a=1, class_b=3, mix=0.5, psi=0.75, directions=(0.5,))
    out = load.on_load(FakeRequest(recipe=r.to_url()))
    vals, image = applied(out)
    assert vals["checkpoint"] == "faces" and vals["seed_a"] == 21 and vals["t"] == 0.6
    assert vals["class_b"] == 3 and vals["psi"] == 0.75 and vals["d0"] == 0.5
    assert np.array_equal(image, svc.render_recipe(r))
    assert out["classes"]["visible"] is True  # the class controls show for ACGAN
    assert "4 classes" in out["info"]


def test_load_without_recipe_and_with_a_broken_one(load: PanelLoad, warnings: list[str]) -> None:
    vals, image = applied(load.on_load(FakeRequest(checkpoint="plain")))
    assert vals["checkpoint"] == "plain" and image.shape == (32, 32, 3)
    vals, _ = applied(load.on_load(FakeRequest(recipe="bm90LWpzb24")))
    assert vals["checkpoint"] == "digits" and "Could not use the recipe" in warnings[-1]
    vals, _ = applied(load.on_load(FakeRequest(recipe=Recipe(checkpoint="gone").to_url())))
    assert vals["checkpoint"] == "digits" and "'gone' is not here" in warnings[-1]
    vals, _ = applied(load.on_load(FakeRequest(recipe=Recipe(checkpoint="plain", class_a=3).to_url())))
    assert vals["checkpoint"] == "plain" and vals["class_a"] == -1 and "unconditional" in warnings[-1]


def test_load_with_an_empty_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = PanelLoad(panel_logic(monkeypatch, tmp_path / "none", tmp_path / "home")).on_load(FakeRequest())
    assert "No checkpoints yet" in out["info"] and out["image"] is None
    assert set(out) == {"checkpoint", "classes", "info", "image"}  # the other controls keep their values


def test_upload_and_paste_reproduce_the_image(load: PanelLoad, warnings: list[str], tmp_path: Path) -> None:
    logic = load.logic
    v = values(checkpoint="faces", seed_a=7, seed_b=8, t=0.4, class_a=0, class_b=2, mix=0.7)
    original = pixels(logic.update(v)["image"])
    png = Path(logic.export_png(v)["png_file"])
    _, image = applied(load.on_upload({"upload": str(png)}))
    assert np.array_equal(image, original)
    exported = logic.export_recipe(v)
    _, image = applied(load.on_paste({"paste": f"http://host/explore?recipe={exported['link_code']}"}))
    assert np.array_equal(image, original)
    _, image = applied(load.on_paste({"paste": exported["recipe_code"]}))
    assert np.array_equal(image, original)
    # other weights under the same name: it loads, with a warning
    r, _ = logic.recipe(v)
    load.on_paste({"paste": r.replace(weights_hash="0123456789abcdef").to_json()})
    assert "made with other weights" in warnings[-1]
    plain = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(plain)
    with pytest.raises(gr.Error, match="carries no GAN Studio recipe"):
        load.on_upload({"upload": str(plain)})
    with pytest.raises(gr.Error, match="'elsewhere' is not here"):
        load.on_paste({"paste": Recipe(checkpoint="elsewhere").to_json()})
    with pytest.raises(gr.Error, match="paste a recipe"):
        load.on_paste({"paste": "  "})
    with pytest.raises(gr.Error, match="did not arrive"):
        load.on_upload({"upload": str(tmp_path / "missing.json")})


def test_new_checkpoint_keeps_seeds_and_resets_classes(load: PanelLoad) -> None:
    out = load.on_checkpoint(values(checkpoint="plain", seed_a=5, t=0.5, class_a=7, d0=2.0))
    vals, image = applied(out)
    assert vals["checkpoint"] == "plain" and vals["seed_a"] == 5 and vals["t"] == 0.5
    assert vals["class_a"] == -1 and vals["d0"] == 0.0 and image.shape == (32, 32, 3)
    assert out["classes"]["visible"] is False  # no classes for DCGAN


def test_refresh_lists_new_checkpoints_and_leaves_a_removed_one(load: PanelLoad, shipped: Path,
                                                                tmp_path: Path) -> None:
    out = load.refresh(values(checkpoint="faces", seed_a=9))
    assert list(out) == ["checkpoint"]  # nothing else changes
    assert [n for _, n in out["checkpoint"]["choices"]] == ["digits", "faces", "plain"]
    assert out["checkpoint"]["value"] == "faces"
    shutil.copytree(shipped / "plain", tmp_path / "home" / "published" / "mine")
    out = load.refresh(values(checkpoint="faces"))
    assert "mine" in [n for _, n in out["checkpoint"]["choices"]]
    vals, image = applied(load.refresh(values(checkpoint="gone", seed_a=9)))
    assert vals["checkpoint"] == "digits" and vals["seed_a"] == 9 and image.shape == (32, 32, 1)
