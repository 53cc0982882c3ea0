"""Issue 15's screenshot, in a real browser: a labelled upload trained with adaptive augmentation and
judged as it trains, the Monitor charting ADA's p and the FD of the dataset's own judge.

The newcomer's path: upload a zip of class folders (small generated grey shapes, 28 px) on the Data
page, take it to Train (the automatic preset: R3GAN 32 px, ADA on for a small set), make the model
small and judge it every few steps, start, and watch the Monitor. The judge of the upload is trained
by the trainer before its clock starts (seconds for this set). The plotly traces are read from the
page; the screenshot is test-artifacts/monitor_upload_ada_fd.png.
"""

from __future__ import annotations

import io
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest
from app_helpers import wait_until
from PIL import Image, ImageDraw
from test_e2e_app import ARTIFACTS, button, diagnose, open_zip_upload, page, seen, server, settle, text  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow  # a real browser against a real server, a training

SHAPES = ("circle", "square", "cross")
PER_CLASS = 70  # 210 images: 42 held out for the judge (at least 10 needed), which builds in seconds
JUDGE_EVERY = 10
ADA_TITLE, QUALITY_TITLE = "Adaptive augmentation", "Quality by"


def shapes_zip(path: Path, side: int = 28, seed: int = 0) -> Path:
    """A zip of grey pictures, one folder per shape, each shape at a random place and size."""
    rs = np.random.RandomState(seed)
    with zipfile.ZipFile(path, "w") as zf:
        for shape in SHAPES:
            for i in range(PER_CLASS):
                im = Image.new("L", (side, side), 0)
                draw = ImageDraw.Draw(im)
                r = int(rs.randint(6, 11))
                cx, cy = (int(v) for v in rs.randint(r + 1, side - r - 1, 2))
                if shape == "circle":
                    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
                elif shape == "square":
                    draw.rectangle((cx - r, cy - r, cx + r, cy + r), fill=255)
                else:
                    draw.line((cx - r, cy, cx + r, cy), fill=255, width=3)
                    draw.line((cx, cy - r, cx, cy + r), fill=255, width=3)
                buf = io.BytesIO()
                im.save(buf, "PNG")
                zf.writestr(f"{shape}/{i:03d}.png", buf.getvalue())
    return path


def traces(page, title: str) -> list[dict]:  # noqa: F811
    """The traces (name, x, y) of the plotly chart whose title has `title` in it, read from the page
    (Streamlit wraps a title in <b> tags)."""
    return page.evaluate("""(title) => {
        const plot = Array.from(document.querySelectorAll('.js-plotly-plot'))
            .find(p => p.layout && p.layout.title && (p.layout.title.text || '').includes(title));
        return plot ? plot.data.map(t => ({name: t.name, x: Array.from(t.x || []), y: Array.from(t.y || [])})) : [];
    }""", title)


def drawn(page, title: str, name: str, points: int) -> list | None:  # noqa: F811
    """The y values of the trace `name` in chart `title` once it has `points` finite ones."""
    for t in traces(page, title):
        ys = [y for y in t["y"] if y is not None and math.isfinite(y)]
        if t["name"] == name and len(ys) >= points:
            return ys
    return None


def number(page, label: str, value: str) -> None:  # noqa: F811
    box = page.locator(f'[data-testid="stNumberInput"] input[aria-label="{label}"]').filter(visible=True).first
    box.fill(value)
    box.press("Enter")
    settle(page)
    assert float(box.input_value().replace(",", "")) == float(value), label


def test_the_monitor_charts_ada_p_and_the_uploads_judge_fd(server, page, tmp_path: Path) -> None:  # noqa: F811
    try:
        journey(server, page, tmp_path)
    except BaseException as exc:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "monitor_upload_failure.png"), full_page=True)
        raise AssertionError(f"{exc}\n--- what the app and its runs said ---\n"
                             f"{diagnose(page, server[1], tmp_path)}") from exc


def upload_on_the_data_page(page, url: str, zip_path: Path) -> None:  # noqa: F811
    """The Data page in zip mode (`open_zip_upload`): upload the zip; the doctor reports on it by its name."""
    open_zip_upload(page, url, "Where are the images?")
    settle(page)
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(zip_path))
    seen(page, text("Saved as")).wait_for(timeout=120_000)
    seen(page, f"Dataset doctor · {zip_path.stem} (uploaded)").wait_for(timeout=120_000)


def journey(server, page, tmp_path: Path) -> None:  # noqa: F811
    url, home = server
    upload_on_the_data_page(page, url, shapes_zip(tmp_path / "shapes.zip"))

    # Train: the automatic preset picks R3GAN with adaptive augmentation for 210 labelled images
    button(page, "Use this dataset for training →").click()
    seen(page, "Start training on shapes").wait_for(timeout=120_000)
    settle(page)
    assert page.get_by_role("radio", name="R3GAN").first.is_checked()
    page.get_by_text("Hyper-parameters").first.click()
    ada = page.locator('[data-testid="stNumberInput"] input[aria-label^="Adaptive augmentation target"]').first
    assert float(ada.input_value()) > 0, "the automatic preset should switch ADA on for a small set"
    # small and judged often, so that the quality chart gets points within seconds
    for label, value in (("Generator width (ngf)", "16"), ("Discriminator width (ndf, 0 = default)", "16"),
                         ("Log metrics every (steps)", "5"), ("Sample grid every (steps)", "10"),
                         ("Judge every N steps (0 = off)", str(JUDGE_EVERY))):
        number(page, label, value)
    button(page, "Start training on shapes").click()
    page.get_by_role("heading", name="Monitor").wait_for()

    # the Monitor: p and the judge's FD, each with at least two points
    fd = wait_until(lambda: drawn(page, QUALITY_TITLE, "judge FD", 2), timeout=240, every=1.0,
                    what="two judge FD points on the quality chart")
    p = wait_until(lambda: drawn(page, ADA_TITLE, "augmentation p", 2), timeout=60, every=1.0,
                   what="two points of p on the ADA chart")
    assert all(v > 0 for v in fd), fd
    assert all(0 <= v < 1 for v in p) and max(p) > 0, p  # the controller moves p from 0
    caption = seen(page, text("FD is measured by")).inner_text()
    assert "this dataset's own judge" in caption and "held-out accuracy" in caption, caption

    # the screenshot: both charts and the caption naming the judge, in one picture
    ARTIFACTS.mkdir(exist_ok=True)
    page.mouse.move(1, 1)
    page.wait_for_timeout(800)

    def photographed() -> bool:
        parts = [page.locator(".js-plotly-plot", has_text=t).first for t in (QUALITY_TITLE, ADA_TITLE)]
        boxes = [part.bounding_box() for part in [*parts, seen(page, text("FD is measured by"))]]
        if not all(boxes):
            return False
        x0, y0 = min(b["x"] for b in boxes), min(b["y"] for b in boxes)
        x1, y1 = max(b["x"] + b["width"] for b in boxes), max(b["y"] + b["height"] for b in boxes)
        page.screenshot(path=str(ARTIFACTS / "monitor_upload_ada_fd.png"), full_page=True,
                        clip={"x": x0 - 8, "y": y0 - 8, "width": x1 - x0 + 16, "height": y1 - y0 + 16})
        return True

    wait_until(photographed, timeout=30, every=0.5, what="both charts to photograph")
    assert (home / "judges").is_dir() and any((home / "judges").iterdir())  # the upload's judge, cached
