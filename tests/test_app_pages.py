"""AppTest: every page of studio.py renders without exceptions; Home shows a gallery and the device."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from app_helpers import ROOT, isolate_home
from streamlit.testing.v1 import AppTest

PAGES = ["pages/home.py", "pages/data.py", "pages/train.py", "pages/monitor.py", "pages/runs.py"]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolate_home(tmp_path, monkeypatch)


def app() -> AppTest:
    return AppTest.from_file(str(ROOT / "studio.py"), default_timeout=60)


def tiny_checkpoint(folder: Path, arch: str = "acgan", classes: int = 3) -> Path:
    import torch

    from gan_core.checkpoints import save_checkpoint
    from gan_core.config import ModelConfig
    from gan_core.networks import build_generator

    torch.manual_seed(0)
    cfg = ModelConfig(arch=arch, image_size=32, channels=1, nz=8, ngf=4, ndf=4,
                      num_classes=classes if arch == "acgan" else 0)
    g = build_generator(cfg).eval()
    return save_checkpoint(folder, cfg, g, generator_ema=g, meta={"step": 1234, "dataset": "digits"})


def test_navigation_renders_every_page_without_exceptions(home: Path) -> None:
    at = app().run()
    assert not at.exception
    assert at.title[0].value == "GAN Studio"
    assert any("No checkpoints yet" in i.value for i in at.info)  # empty gallery explains what to do
    assert any("No training is running" in c.value for c in at.sidebar.caption)
    titles = {}
    for page in PAGES[1:]:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert not at.error, (page, [e.value for e in at.error])
        titles[page] = at.title[0].value
    assert titles == {"pages/data.py": "Data", "pages/train.py": "Train", "pages/monitor.py": "Monitor",
                      "pages/runs.py": "Runs"}
    assert any("No runs yet" in i.value for i in at.info)  # the Runs page with nothing to show


def test_explore_page_is_in_the_navigation_only_when_its_file_exists(home: Path) -> None:
    at = app().run()
    explore = ROOT / "pages" / "explore.py"
    if explore.is_file():
        at.switch_page("pages/explore.py")  # registered: switching does not raise
    else:
        with pytest.raises(ValueError):
            at.switch_page("pages/explore.py")


def test_home_gallery_renders_every_published_checkpoint(home: Path) -> None:
    tiny_checkpoint(home / "published" / "digits-mini", "acgan", 3)
    tiny_checkpoint(home / "published" / "blobs", "dcgan")
    tiny_checkpoint(home / "published" / "people", "acgan", 12)  # more classes than grid rows (faces)
    at = app().run()
    assert not at.exception and not at.warning
    names = [m.value for m in at.markdown if m.value.startswith("**") and m.value.endswith("**")]
    assert names == ["**blobs**", "**digits-mini**", "**people**"]
    images = at.image
    assert len(images) == 3
    captions = " ".join(c.value for c in at.caption)
    assert "one row per class: 0, 1, 2" in captions and "seeds 0–63, 8 per row ·" not in captions
    assert "seeds 0–63, 8 per row" in captions and "seeds 0–63, 8 per row, classes in turn (all 12)" in captions
    assert "trained 1,234 steps on digits" in captions
    assert any("CPU" in m.value or "GPU" in m.value for m in at.markdown)  # device info


def test_gallery_cards_quote_the_judge(home: Path) -> None:
    import json

    from ui.gallery import quality_summary

    shipped = tiny_checkpoint(home / "published" / "evaluated", "acgan", 3)
    (shipped / "evaluation.json").write_text(json.dumps(
        {"n": 10000, "fd": 0.2151, "fd_ratio": 6.08, "precision": 0.815, "recall": 0.75, "class_consistency": 0.9954}))
    line = "Judge, 10,000 samples: class agreement 99.5% · FD 0.215 (6.1× real-vs-real) · precision 0.81 / recall 0.75"
    assert quality_summary(shipped, {}) == line
    ev = json.loads((shipped / "evaluation.json").read_text())
    (shipped / "evaluation.json").write_text(json.dumps(dict(ev, fd_class_mix_floor=0.517, fd_real_baseline=0.0354)))
    assert "FD 0.215 (6.1× real-vs-real; its class mix alone 14.6×)" in quality_summary(shipped, {})
    (shipped / "evaluation.json").write_text(json.dumps(ev))
    # a run published from the app: the light evaluation saved with its checkpoint
    meta = {"step": 500, "metrics": {"step": 500, "eval_fd": 2.555, "eval_fd_ratio": 7.31, "eval_precision": 0.622,
                                     "eval_recall": 0.894}}
    assert quality_summary(home, meta) == ("Judge, 1,000 samples at step 500: FD 2.56 (7.3× real-vs-real) · "
                                           "precision 0.62 / recall 0.89")
    assert quality_summary(home, {"step": 5, "metrics": {"loss_d": 1.0}}) is None  # never judged
    (home / "evaluation.json").write_text("{not json")
    assert quality_summary(home, {}) is None  # unreadable: no line rather than a broken page
    at = app().run()
    assert not at.exception and line in [c.value for c in at.caption]


def test_gallery_captions_say_what_the_grid_shows() -> None:
    from gan_core.images import grid_layout
    from ui.gallery import grid_caption

    assert grid_caption(3, ["ann", "bob", "cy"]) == "one row per class: ann, bob, cy"
    seeds, _, cols = grid_layout(0)
    assert grid_caption(0, []) == f"seeds 0–{len(seeds) - 1}, {cols} per row"
    assert grid_caption(40, [f"s{i}" for i in range(40)]).endswith(", classes in turn (all 40)")


def test_grid_layout_is_one_rule_for_every_grid() -> None:
    from gan_core.images import grid_layout

    seeds, labels, cols = grid_layout(10)  # few classes: one row per class, 10 seeds across
    assert cols == 10 and len(seeds) == 100 and labels[:11] == [0] * 10 + [1] and seeds[10] == 0
    seeds, labels, cols = grid_layout(40)  # many classes (faces): 64 seeds, labels cycling
    assert cols == 8 and seeds == list(range(64)) and labels[:41] == list(range(40)) + [0]
    seeds, labels, cols = grid_layout(0)
    assert labels is None and seeds == list(range(64)) and cols == 8


def test_gallery_grid_is_rendered_by_the_hub(home: Path) -> None:
    from ui.gallery import gallery_grid

    tiny_checkpoint(home / "published" / "digits-mini", "acgan", 3)
    grid, info = gallery_grid("digits-mini")
    # 3 rows (classes) x 10 seeds of 32 px with 2 px padding (images.grid_layout)
    assert grid.shape == (3 * 34 + 2, 10 * 34 + 2, 1) and grid.dtype == np.uint8
    assert info["num_classes"] == 3
    assert not np.array_equal(grid[2:34, 2:34], grid[36:68, 2:34])  # different classes differ


def test_a_deep_link_on_a_fresh_server_still_gets_the_studio_navigation(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # every AppTest run here is like the first request of a fresh server (Streamlit's legacy
    # pages/ mode): the page must still get studio.py's sidebar and navigation
    isolate_home(tmp_path, monkeypatch, legacy_first_run=True)
    at = app().run()
    for page, title in (("pages/monitor.py", "Monitor"), ("pages/runs.py", "Runs")):
        at.switch_page(page).run()
        assert not at.exception and at.title[0].value == title
        assert [c.value for c in at.sidebar.caption] == ["No training is running."]
