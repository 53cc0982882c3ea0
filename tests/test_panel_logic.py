"""The panel's event handlers, called directly with values by name: images, grids, strips, labels, exports, errors."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import gradio as gr
import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from gan_core.explore import MAX_DIRECTIONS, PNG_KEY, from_bytes, from_json
from gan_core.latent import MAX_SEED
from panel_support import control_values as values
from panel_support import make_checkpoints, panel_logic, pixels
from ui import panel_exports as ex
from ui.panel_logic import PanelLogic
from ui.recipe import CONTROLS


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_checkpoints(tmp_path_factory.mktemp("shipped"))


@pytest.fixture
def logic(shipped: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PanelLogic:
    return panel_logic(monkeypatch, shipped, tmp_path / "home")


def image(logic: PanelLogic, **changes: Any) -> np.ndarray:
    return pixels(logic.update(values(**changes))["image"])


def test_update_renders_the_recipe_of_the_controls(logic: PanelLogic) -> None:
    v = values(seed_a=3, seed_b=9, t=0.25, mode="lerp", keyframes="12, 40", class_a=1, class_b=5,
               mix=0.3, psi=0.9, d0=1.0, d2=-2.0)
    out = logic.update(v)
    assert set(out) == {"image"}
    r, svc = logic.recipe(v)
    assert r.keyframes == (12, 40) and r.directions == (1.0, 0.0, -2.0)
    assert np.array_equal(pixels(out["image"]), svc.render_recipe(r))
    assert from_json(out["image"].info[PNG_KEY]) == r  # the shown image carries its recipe
    assert not np.array_equal(image(logic, seed_a=4), image(logic, seed_a=5))


@pytest.mark.parametrize("changes, message", [
    ({"checkpoint": "../x"}, "invalid name"),
    ({"checkpoint": "nope"}, "unknown checkpoint 'nope'"),
    ({"checkpoint": None}, "choose a checkpoint"),
    ({"keyframes": "3, x"}, "'x' is not a seed"),
    ({"seed_a": -5}, "seed_a must be between 0 and"),
    ({"class_a": 10}, "class_a must be between 0 and 9"),
    ({"checkpoint": "plain", "class_a": 2}, "unconditional"),
    ({"psi": 0.0}, "psi must be between 0.05 and 2"),
])
def test_bad_controls_give_readable_errors(logic: PanelLogic, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(gr.Error, match=message):
        logic.update(values(**changes))


def test_typed_class_and_clamped_directions(logic: PanelLogic) -> None:
    r, _ = logic.recipe(values(class_a="3", d1=12.0))
    assert r.class_a == 3 and r.directions == (0.0, 5.0)


def test_grid_strip_and_direction_labels(logic: PanelLogic) -> None:
    def grid(kind: str, cols: int, rows: int, **changes: Any) -> np.ndarray:
        return pixels(logic.grid({**values(**changes), "grid_kind": kind, "grid_cols": cols, "grid_rows": rows})["grid"])

    assert grid("seeds", 3, 2).shape == (2 * 34 + 2, 3 * 34 + 2, 1)
    assert grid("one row per class", 4, 1).shape == (10 * 34 + 2, 4 * 34 + 2, 1)
    with pytest.raises(gr.Error, match="no classes"):
        grid("one row per class", 4, 1, checkpoint="plain")
    with pytest.raises(gr.Error, match="at most 320"):
        grid("seeds", 32, 32)
    strip = logic.strip(values(checkpoint="faces", seed_a=3))["strip"]
    assert [c for _, c in strip["value"]] == ["0: ann", "1: bob", "2: cy", "3: dee"]
    assert np.abs(pixels(strip["value"][2][0]).astype(int)
                  - logic.service("faces").render(3, 2).astype(int)).max() <= 1
    assert logic.strip(values(checkpoint="plain"))["strip"]["visible"] is False
    labels = logic.direction_labels(values(directions_k=3))
    assert list(labels) == [f"d{i}" for i in range(MAX_DIRECTIONS)]
    assert [u.get("visible") for u in labels.values()] == [True] * 3 + [False] * 5
    assert "% of variance" in labels["d0"]["label"]


def test_nothing_picked_yet_keeps_the_chained_events_quiet(logic: PanelLogic) -> None:
    """With an empty catalogue the events chained after loading stay quiet instead of raising."""
    assert logic.strip(values(checkpoint=None))["strip"]["visible"] is False
    assert logic.direction_labels(values(checkpoint=None)) == {}


def test_animation_export_matches_the_stills(logic: PanelLogic) -> None:
    v = values(seed_a=2, seed_b=9, frames=5, fps=10)
    out = logic.export_animation({**v, "export_format": "GIF", "export_scale": 1})
    path = out["anim_file"]
    assert out["anim_preview"] == path and path.endswith(".gif") and Path(path).parent.parent == ex.export_root()
    with Image.open(path) as im:
        assert im.n_frames == 5
        r = from_bytes(Path(path).read_bytes())
        assert r.frames == 5 and r.fps == 10
        im.seek(4)
        last = np.array(im.convert("L"))[:, :, None]
    assert np.array_equal(last, image(logic, seed_a=2, seed_b=9, t=1.0))
    big = logic.export_animation({**v, "export_format": "GIF", "export_scale": 4})["anim_file"]
    assert Image.open(big).size == (128, 128)
    with pytest.raises(gr.Error, match="scale must be one of"):
        logic.export_animation({**v, "export_format": "GIF", "export_scale": 3})


def test_mp4_export_is_the_animation_with_the_recipe_inside(logic: PanelLogic) -> None:
    """MP4 works on a bare machine: without a system ffmpeg the imageio-ffmpeg wheel's build is used."""
    assert ex.ffmpeg() is not None
    v = values(seed_a=2, seed_b=9, frames=6, fps=12)
    out = logic.export_animation({**v, "export_format": "MP4", "export_scale": 4})
    path = out["anim_file"]
    assert out["anim_preview"] is None and path.endswith(".mp4") and Path(path).parent.parent == ex.export_root()
    assert imageio_ffmpeg.count_frames_and_secs(path) == (6, 0.5)
    reader = imageio_ffmpeg.read_frames(path)
    meta = next(reader)
    assert tuple(meta["size"]) == (128, 128)  # 32 px x 4
    frames = [np.frombuffer(f, np.uint8).reshape(128, 128, 3) for f in reader]
    last = np.array(Image.fromarray(frames[-1]).convert("L").resize((32, 32), Image.BILINEAR), np.float32)
    still = image(logic, seed_a=2, seed_b=9, t=1.0)[:, :, 0].astype(np.float32)
    first = image(logic, seed_a=2, seed_b=9, t=0.0)[:, :, 0].astype(np.float32)
    err = np.abs(last - still).mean()
    assert err < 12 and err < np.abs(last - first).mean() / 2  # the last frame is seed B (H.264 is lossy)
    probe = subprocess.run([ex.ffmpeg(), "-hide_banner", "-i", path], capture_output=True, text=True)
    # the recipe travels with the file
    assert re.search(r'comment +: \{"version":1,"checkpoint":"digits".*"seed_a":2,"seed_b":9', probe.stderr)
    with pytest.raises(gr.Error, match="scale must be one of"):
        logic.export_animation({**v, "export_format": "MP4", "export_scale": 3})


def test_mp4_needs_ffmpeg(logic: PanelLogic, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ex.shutil, "which", lambda name: None)
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # the wheel is missing too
    assert ex.ffmpeg() is None
    with pytest.raises(gr.Error, match="MP4 export needs ffmpeg"):
        logic.export_animation({**values(frames=3), "export_format": "MP4", "export_scale": 4})


def test_png_and_recipe_exports_carry_the_image(logic: PanelLogic) -> None:
    v = values(checkpoint="faces", seed_a=7, seed_b=8, t=0.4, class_a=0, class_b=2, mix=0.7)
    shown = image(logic, **v)
    png = Path(logic.export_png(v)["png_file"])
    assert np.array_equal(pixels(Image.open(png)), shown)
    r, _ = logic.recipe(v)
    assert from_bytes(png.read_bytes()) == r
    out = logic.export_recipe(v)
    assert set(out) == {"recipe_code", "recipe_file", "link_code"}
    assert from_json(out["recipe_code"]) == from_json(Path(out["recipe_file"]).read_text()) == r
    assert r.to_url() == out["link_code"]


def test_roll_and_reset(logic: PanelLogic) -> None:
    out = logic.roll("seed_a", values())
    assert set(out) == {"seed_a", "image"} and 0 <= out["seed_a"] <= MAX_SEED
    assert np.array_equal(pixels(out["image"]), image(logic, seed_a=out["seed_a"]))
    out = logic.reset(values(psi=0.5, d0=3.0, d7=-1.0))
    assert {k: v for k, v in out.items() if k != "image"} == {"psi": 1.0, **{f"d{i}": 0.0 for i in range(8)}}
    assert np.array_equal(pixels(out["image"]), image(logic))
    with pytest.raises(gr.Error, match="cannot roll 'psi'"):
        logic.roll("psi", values())


def test_png_shown_by_gradio_keeps_the_recipe(logic: PanelLogic) -> None:
    """Gradio writes the shown image as PNG with its text info: the download carries the recipe."""
    from gradio.processing_utils import encode_pil_to_bytes

    im = logic.update(values(seed_a=8, t=0.0))["image"]
    data = encode_pil_to_bytes(im, "png")
    r = from_bytes(data)
    assert r.seed_a == 8 and np.array_equal(pixels(Image.open(io.BytesIO(data))), pixels(im))


def test_handlers_read_only_controls_by_name(logic: PanelLogic) -> None:
    """The order of the values does not matter, only their names."""
    v = values(seed_a=12, t=0.3)
    backwards = dict(reversed(list(v.items())))
    assert list(backwards) != list(CONTROLS)
    assert np.array_equal(pixels(logic.update(backwards)["image"]), pixels(logic.update(v)["image"]))
