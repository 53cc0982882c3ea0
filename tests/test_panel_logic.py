"""The panel's event handlers, called directly: recipes in and out, grids, strips, exports, errors."""

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

from panel_support import make_checkpoints, use_catalogue
from ui import panel_exports as ex
from ui import recipe as rc
from ui.panel_logic import CONTROL_KEYS, PanelLogic
from ui.services import RenderHub


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_checkpoints(tmp_path_factory.mktemp("shipped"))


@pytest.fixture
def logic(shipped: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PanelLogic:
    use_catalogue(monkeypatch, shipped, tmp_path / "home")
    return PanelLogic(RenderHub(threads=0))


def values(**changes: Any) -> list[Any]:
    d: dict[str, Any] = {"checkpoint": "digits", "seed_a": 0, "seed_b": 1, "keyframes": "", "t": 0.0,
                         "mode": "slerp", "easing": "linear", "class_a": -1, "class_b": -1, "mix": 0.0,
                         "mix_follows_t": False, "psi": 1.0, "frames": 48, "fps": 24, "directions_k": 8}
    d.update({f"d{i}": 0.0 for i in range(rc.MAX_DIRECTIONS)})
    d.update(changes)
    return [d[k] for k in CONTROL_KEYS]


def pixels(im: Image.Image) -> np.ndarray:
    a = np.array(im)
    return a[:, :, None] if a.ndim == 2 else a


class FakeRequest:
    def __init__(self, **params: str):
        self.query_params = params


def applied(out: list[Any]) -> tuple[dict[str, Any], np.ndarray]:
    """(control values by key, image pixels) from PanelLogic.apply's outputs."""
    vals = {}
    for key, u in zip(CONTROL_KEYS, out):
        vals[key] = u.get("value") if isinstance(u, dict) else u
    return vals, pixels(out[-1])


def test_update_renders_the_recipe_of_the_controls(logic: PanelLogic) -> None:
    v = values(seed_a=3, seed_b=9, t=0.25, mode="lerp", keyframes="12, 40", class_a=1, class_b=5,
               mix=0.3, psi=0.9, d0=1.0, d2=-2.0)
    im = logic.update(*v)
    r, svc = logic.recipe(v)
    assert r.keyframes == (12, 40) and r.directions == (1.0, 0.0, -2.0)
    assert np.array_equal(pixels(im), rc.render(r, svc))
    assert rc.from_json(im.info[rc.PNG_KEY]) == r  # the shown image carries its recipe
    assert not np.array_equal(pixels(logic.update(*values(seed_a=4))), pixels(logic.update(*values(seed_a=5))))


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
        logic.update(*values(**changes))


def test_typed_class_and_clamped_directions(logic: PanelLogic) -> None:
    r, _ = logic.recipe(values(class_a="3", d1=12.0))
    assert r.class_a == 3 and r.directions == (0.0, 5.0)


def test_load_applies_the_recipe_in_the_url(logic: PanelLogic) -> None:
    svc = logic.service("faces")
    r = rc.Recipe(checkpoint="faces", weights_hash=svc.weights_hash, seed_a=21, seed_b=22, t=0.6,
                  class_a=1, class_b=3, mix=0.5, psi=0.75, directions=(0.5,))
    out = logic.on_load(FakeRequest(recipe=r.to_url()))
    vals, image = applied(out)
    assert vals["checkpoint"] == "faces" and vals["seed_a"] == 21 and vals["t"] == 0.6
    assert vals["class_b"] == 3 and vals["psi"] == 0.75 and vals["d0"] == 0.5
    assert np.array_equal(image, rc.render(r, svc))
    assert out[len(CONTROL_KEYS)]["visible"] is True  # the class controls show for ACGAN


def test_load_without_recipe_and_with_a_broken_one(logic: PanelLogic, monkeypatch: pytest.MonkeyPatch) -> None:
    warnings: list[str] = []
    monkeypatch.setattr(gr, "Warning", lambda msg, *a, **k: warnings.append(msg))
    vals, image = applied(logic.on_load(FakeRequest(checkpoint="plain")))
    assert vals["checkpoint"] == "plain" and image.shape == (32, 32, 3)
    vals, _ = applied(logic.on_load(FakeRequest(recipe="bm90LWpzb24")))
    assert vals["checkpoint"] == "digits" and "Could not use the recipe" in warnings[-1]
    vals, _ = applied(logic.on_load(FakeRequest(recipe=rc.Recipe(checkpoint="gone").to_url())))
    assert vals["checkpoint"] == "digits" and "'gone' is not here" in warnings[-1]


def test_load_with_an_empty_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_catalogue(monkeypatch, tmp_path / "none", tmp_path / "home")
    logic = PanelLogic(RenderHub(threads=0))
    out = logic.on_load(FakeRequest())
    assert "No checkpoints yet" in out[-2] and out[-1] is None
    # the events chained after loading stay quiet instead of raising "choose a checkpoint"
    assert logic.strip(*values(checkpoint=None))["visible"] is False
    assert logic.direction_labels(*values(checkpoint=None)) == [gr.update()] * rc.MAX_DIRECTIONS


def test_upload_and_paste_reproduce_the_image(logic: PanelLogic, monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    v = values(checkpoint="faces", seed_a=7, seed_b=8, t=0.4, class_a=0, class_b=2, mix=0.7)
    original = pixels(logic.update(*v))
    png = Path(logic.export_png(*v))
    assert np.array_equal(pixels(Image.open(png)), original)
    _, image = applied(logic.on_upload(str(png)))
    assert np.array_equal(image, original)
    pretty, json_file, code = logic.export_recipe(*v)
    assert rc.from_json(Path(json_file).read_text()) == rc.from_json(pretty)
    _, image = applied(logic.on_paste(f"http://host/explore?recipe={code}"))
    assert np.array_equal(image, original)
    _, image = applied(logic.on_paste(pretty))
    assert np.array_equal(image, original)
    # other weights under the same name: it loads, with a warning
    warnings: list[str] = []
    monkeypatch.setattr(gr, "Warning", lambda msg, *a, **k: warnings.append(msg))
    logic.on_paste(rc.from_json(pretty).replace(weights_hash="0123456789abcdef").to_json())
    assert "made with other weights" in warnings[-1]
    with pytest.raises(gr.Error, match="carries no GAN Studio recipe"):
        plain = tmp_path / "plain.png"
        Image.new("RGB", (8, 8)).save(plain)
        logic.on_upload(str(plain))
    with pytest.raises(gr.Error, match="'elsewhere' is not here"):
        logic.on_paste(rc.Recipe(checkpoint="elsewhere").to_json())


def test_new_checkpoint_keeps_seeds_and_resets_classes(logic: PanelLogic) -> None:
    out = logic.on_checkpoint("plain", *values(seed_a=5, t=0.5, class_a=7, d0=2.0))
    vals, image = applied(out)
    assert vals["checkpoint"] == "plain" and vals["seed_a"] == 5 and vals["t"] == 0.5
    assert vals["class_a"] == -1 and vals["d0"] == 0.0 and image.shape == (32, 32, 3)
    assert out[len(CONTROL_KEYS)]["visible"] is False  # no classes for DCGAN


def test_refresh_lists_new_checkpoints_and_leaves_a_removed_one(logic: PanelLogic, shipped: Path,
                                                                tmp_path: Path) -> None:
    import shutil

    out = logic.refresh(*values(checkpoint="faces", seed_a=9))
    assert [n for _, n in out[0]["choices"]] == ["digits", "faces", "plain"] and out[0]["value"] == "faces"
    assert all(u == gr.update() for u in out[1:])  # nothing else changes
    shutil.copytree(shipped / "plain", tmp_path / "home" / "published" / "mine")
    out = logic.refresh(*values(checkpoint="faces"))
    assert "mine" in [n for _, n in out[0]["choices"]]
    vals, image = applied(logic.refresh(*values(checkpoint="gone", seed_a=9)))
    assert vals["checkpoint"] == "digits" and vals["seed_a"] == 9 and image.shape == (32, 32, 1)


def test_grid_strip_and_direction_labels(logic: PanelLogic) -> None:
    g = pixels(logic.grid("seeds", 3, 2, *values()))
    assert g.shape == (2 * 34 + 2, 3 * 34 + 2, 1)
    g = pixels(logic.grid("one row per class", 4, 1, *values()))
    assert g.shape == (10 * 34 + 2, 4 * 34 + 2, 1)
    with pytest.raises(gr.Error, match="no classes"):
        logic.grid("one row per class", 4, 1, *values(checkpoint="plain"))
    with pytest.raises(gr.Error, match="at most 320"):
        logic.grid("seeds", 32, 32, *values())
    strip = logic.strip(*values(checkpoint="faces", seed_a=3))
    assert [c for _, c in strip["value"]] == ["0: ann", "1: bob", "2: cy", "3: dee"]
    assert np.abs(pixels(strip["value"][2][0]).astype(int)
                  - logic.service("faces").render(3, 2).astype(int)).max() <= 1
    assert logic.strip(*values(checkpoint="plain"))["visible"] is False
    labels = logic.direction_labels(*values(directions_k=3))
    assert [u.get("visible") for u in labels] == [True] * 3 + [False] * 5
    assert "% of variance" in labels[0]["label"]


def test_animation_export_matches_the_stills(logic: PanelLogic) -> None:
    v = values(seed_a=2, seed_b=9, frames=5, fps=10)
    path, preview = logic.export_animation("GIF", 1, *v)
    assert path == preview and path.endswith(".gif") and Path(path).parent.parent == ex.export_root()
    with Image.open(path) as im:
        assert im.n_frames == 5
        r = rc.from_bytes(Path(path).read_bytes())
        assert r.frames == 5 and r.fps == 10
        im.seek(4)
        last = np.array(im.convert("L"))[:, :, None]
    assert np.array_equal(last, pixels(logic.update(*values(seed_a=2, seed_b=9, t=1.0))))
    big, _ = logic.export_animation("GIF", 4, *v)
    assert Image.open(big).size == (128, 128)
    with pytest.raises(gr.Error, match="scale must be one of"):
        logic.export_animation("GIF", 3, *v)


def test_mp4_export_is_the_animation_with_the_recipe_inside(logic: PanelLogic) -> None:
    """MP4 works on a bare machine: without a system ffmpeg the imageio-ffmpeg wheel's build is used."""
    assert ex.ffmpeg() is not None
    v = values(seed_a=2, seed_b=9, frames=6, fps=12)
    path, preview = logic.export_animation("MP4", 4, *v)
    assert preview is None and path.endswith(".mp4") and Path(path).parent.parent == ex.export_root()
    assert imageio_ffmpeg.count_frames_and_secs(path) == (6, 0.5)
    reader = imageio_ffmpeg.read_frames(path)
    meta = next(reader)
    assert tuple(meta["size"]) == (128, 128)  # 32 px x 4
    frames = [np.frombuffer(f, np.uint8).reshape(128, 128, 3) for f in reader]
    last = np.array(Image.fromarray(frames[-1]).convert("L").resize((32, 32), Image.BILINEAR), np.float32)
    still = pixels(logic.update(*values(seed_a=2, seed_b=9, t=1.0)))[:, :, 0].astype(np.float32)
    first = pixels(logic.update(*values(seed_a=2, seed_b=9, t=0.0)))[:, :, 0].astype(np.float32)
    err = np.abs(last - still).mean()
    assert err < 12 and err < np.abs(last - first).mean() / 2  # the last frame is seed B (H.264 is lossy)
    probe = subprocess.run([ex.ffmpeg(), "-hide_banner", "-i", path], capture_output=True, text=True)
    # the recipe travels with the file
    assert re.search(r'comment +: \{"version":1,"checkpoint":"digits".*"seed_a":2,"seed_b":9', probe.stderr)
    with pytest.raises(gr.Error, match="scale must be one of"):
        logic.export_animation("MP4", 3, *v)


def test_mp4_needs_ffmpeg(logic: PanelLogic, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ex.shutil, "which", lambda name: None)
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # the wheel is missing too
    assert ex.ffmpeg() is None
    with pytest.raises(gr.Error, match="MP4 export needs ffmpeg"):
        logic.export_animation("MP4", 4, *values(frames=3))


def test_roll_and_reset(logic: PanelLogic) -> None:
    seed, im = logic.roll("seed_a", *values())
    assert 0 <= seed <= rc.MAX_SEED
    assert np.array_equal(pixels(im), pixels(logic.update(*values(seed_a=seed))))
    out = logic.reset(*values(psi=0.5, d0=3.0, d7=-1.0))
    assert out[:1 + rc.MAX_DIRECTIONS] == [1.0] + [0.0] * rc.MAX_DIRECTIONS
    assert np.array_equal(pixels(out[-1]), pixels(logic.update(*values())))


def test_png_shown_by_gradio_keeps_the_recipe(logic: PanelLogic) -> None:
    """Gradio writes the shown image as PNG with its text info: the download carries the recipe."""
    from gradio.processing_utils import encode_pil_to_bytes

    im = logic.update(*values(seed_a=8, t=0.0))
    data = encode_pil_to_bytes(im, "png")
    r = rc.from_bytes(data)
    assert r.seed_a == 8 and np.array_equal(pixels(Image.open(io.BytesIO(data))), pixels(im))
