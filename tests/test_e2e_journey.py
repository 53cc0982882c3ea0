"""The newcomer's path in a real browser (issue 20), asserting each fix on the way.

Upload a generated labelled zip of small grey digits with planted near-copies (the doctor confirms
them; zip mode shows no report before the upload), choose a preset and change the form, reload
(dataset, preset and form values survive; the Data page follows), estimate, train, watch the health
chart, stop; a second tab starts another run and the first tab, watching the stopped run, offers to
follow it without switching; resume, publish from Runs (which opens on the run the user came from),
explore the published model. No deep link or reload logs a 404 for `/<page>/_stcore/...`.

Screenshots under test-artifacts/ (journey_*.png): the Train page after a reload, the doctor on the
planted near-copies, the Monitor's health chart.
"""

from __future__ import annotations

import io
import re
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from app_helpers import wait_until
from PIL import Image
from test_e2e_app import ARTIFACTS, button, diagnose, nav, open_zip_upload, page, progress_step, seen, server, settle, text  # noqa: F401

pytestmark = pytest.mark.slow  # a real browser against a real server, two trainings

CLASSES = {"zero": 0, "one": 1, "seven": 7}
PER_CLASS = 14


def digits_zip(path: Path) -> set[str]:
    """A zip of MNIST test digits, one folder per class, plus three near-copies (shifted 1 px,
    brightened, re-encoded as JPEG) of three of them; returns the copies' member names."""
    from gan_core.data.builtin import load_mnist

    images, labels = load_mnist("test")
    buf = io.BytesIO()
    copies = set()
    with zipfile.ZipFile(buf, "w") as zf:
        for folder, digit in CLASSES.items():
            picks = np.flatnonzero(labels == digit)[:PER_CLASS]
            for i, k in enumerate(picks):
                png = io.BytesIO()
                Image.fromarray(images[k]).save(png, "PNG")
                zf.writestr(f"{folder}/{i:03d}.png", png.getvalue())
            a = images[picks[0]]
            shifted = np.pad(a, 1)[0:28, 1:29]  # one pixel right... and down
            brighter = np.clip(a.astype(np.int16) + 30, 0, 255).astype(np.uint8)
            for name, img, fmt in (("copy-shift.png", shifted, "PNG"), ("copy-bright.png", brighter, "PNG"),
                                   ("copy-jpeg.jpg", a, "JPEG")):
                out = io.BytesIO()
                Image.fromarray(img).save(out, fmt, **({"quality": 85} if fmt == "JPEG" else {}))
                zf.writestr(f"{folder}/{name}", out.getvalue())
                copies.add(f"{folder}/{name}")
    path.write_bytes(buf.getvalue())
    return copies


def shot(page, name: str) -> None:  # noqa: F811 (the imported fixture's name)
    ARTIFACTS.mkdir(exist_ok=True)
    page.mouse.move(1, 1)
    page.wait_for_timeout(600)
    page.screenshot(path=str(ARTIFACTS / f"journey_{name}.png"), full_page=True)


def shot_chart(page, name: str, title: str) -> None:  # noqa: F811 (the imported fixture's name)
    """A screenshot of one plotly chart; the live page redraws its charts, so a try may miss one."""
    from playwright.sync_api import Error as PlaywrightError

    def attempt() -> bool:
        try:
            chart = page.locator(".js-plotly-plot", has_text=title).first
            chart.scroll_into_view_if_needed(timeout=5000)
            page.wait_for_timeout(300)
            chart.screenshot(path=str(ARTIFACTS / f"journey_{name}.png"), timeout=5000)
            return True
        except PlaywrightError:
            return False

    ARTIFACTS.mkdir(exist_ok=True)
    wait_until(attempt, timeout=60, every=0.5, what=f"a steady {title} chart to photograph")


def selectbox_text(page, label: str) -> str:  # noqa: F811 (the imported fixture's name)
    """A selectbox's label and shown value (the value may sit in the widget's search input)."""
    box = page.locator('[data-testid="stSelectbox"]', has_text=label).filter(visible=True).first
    return box.evaluate("e => e.textContent + ' ' + Array.from(e.querySelectorAll('input'))"
                        ".map(i => i.value + ' ' + (i.getAttribute('aria-label') || '')).join(' ')")


def number(page, label: str):  # noqa: F811 (the imported fixture's name)
    return page.locator(f'[data-testid="stNumberInput"] input[aria-label="{label}"]').filter(visible=True).first


def set_number(page, label: str, value: str) -> None:  # noqa: F811 (the imported fixture's name)
    box = number(page, label)
    box.fill(value)
    box.press("Enter")
    settle(page)
    assert float(box.input_value().replace(",", "")) == float(value)


def test_the_newcomers_path(server, page, tmp_path: Path) -> None:  # noqa: F811
    stcore_404s: list[str] = []

    def watch(p) -> None:
        p.on("response", lambda r: stcore_404s.append(r.url)
             if r.status == 404 and "/_stcore/" in r.url else None)

    watch(page)
    try:
        journey(server, page, tmp_path, watch)
    except BaseException as exc:
        shot(page, "failure")
        raise AssertionError(f"{exc}\n--- what the app and its runs said ---\n"
                             f"{diagnose(page, server[1], tmp_path)}") from exc
    assert not stcore_404s, f"deep links or reloads logged 404s: {stcore_404s}"


def journey(server, page, tmp_path: Path, watch) -> None:  # noqa: F811
    url, home = server
    zip_path = tmp_path / "journey.zip"
    digits_zip(zip_path)

    # Home, as the README's address opens it, then Data by a deep link (it opens on MNIST's report):
    # zip mode shows no report before anything is uploaded
    open_zip_upload(page, url, "Dataset doctor · MNIST")
    seen(page, "Upload a dataset to check it").wait_for()
    settle(page)
    assert not page.get_by_text(text("Dataset doctor ·")).filter(visible=True).count()

    # upload: the doctor confirms the planted near-copies on pixels
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(zip_path))
    seen(page, text("Saved as")).wait_for(timeout=120_000)
    seen(page, "Dataset doctor · journey (uploaded)").wait_for(timeout=120_000)
    near = page.locator('[data-testid="stMetric"]', has_text="Near-duplicate pairs")
    wait_until(lambda: int(re.sub(r"\D", "", near.inner_text().split("pairs")[-1]) or 0) >= 3, timeout=60,
               what="the planted near-copies to be counted")
    heading = page.get_by_text(re.compile(r"Duplicates: \d+ identical groups?, \d+ near-identical")).first
    heading.click()  # open the list of pairs
    seen(page, text("near-identical (pixels differ by")).wait_for()
    shot(page, "doctor_near_copies")

    # Train: a preset, then the user's own values
    button(page, "Use this dataset for training →").click()
    seen(page, "Start training on journey").wait_for(timeout=120_000)
    page.locator('[data-testid="stSelectbox"]', has_text="Preset").click()
    page.get_by_role("option", name="Tiny smoke test").click()
    seen(page, "A tiny model (widths 8").wait_for()
    settle(page)
    page.locator('[data-testid="stRadioOption"]', has_text="ACGAN").click()
    settle(page)
    set_number(page, "Steps", "100000")
    set_number(page, "Time limit (minutes, 0 = none)", "45")

    # a reload mid-way: the choice and the form survive, and so does the Start button's dataset
    page.reload()
    seen(page, "Start training on journey").wait_for(timeout=120_000)
    settle(page)
    assert "journey" in selectbox_text(page, "Dataset")
    assert "Tiny smoke test" in selectbox_text(page, "Preset")
    assert page.get_by_role("radio", name=re.compile("ACGAN")).is_checked()
    assert number(page, "Steps").input_value().replace(",", "") == "100000"
    assert float(number(page, "Time limit (minutes, 0 = none)").input_value()) == 45.0
    shot(page, "train_after_reload")

    # the Data page follows the same choice; back on Train the form is unchanged
    nav(page, "Data")
    seen(page, "Dataset doctor · journey (uploaded)").wait_for(timeout=120_000)
    nav(page, "Train")
    seen(page, "Start training on journey").wait_for(timeout=120_000)
    settle(page)
    assert number(page, "Steps").input_value().replace(",", "") == "100000"

    # estimate, then train
    page.get_by_label("Run name").fill("journey one")
    page.get_by_label("Run name").press("Enter")
    settle(page)
    button(page, "Estimate time").click()
    seen(page, "Estimated time").wait_for(timeout=240_000)
    seen(page, text("warm-up steps")).wait_for()
    button(page, "Start training on journey").click()
    page.get_by_role("heading", name="Monitor").wait_for()
    seen(page, "journey one").wait_for()
    wait_until(lambda: (p := progress_step(page)) and p[0] >= 60 and p, timeout=240, what="training to step 60")
    page.locator(".js-plotly-plot", has_text="Sample health").first.wait_for(timeout=120_000)
    shot_chart(page, "health_chart", "Sample health")
    button(page, "Stop").click()
    seen(page, text("Stopped at step")).wait_for(timeout=120_000)
    first_run = page.url.split("run=")[-1].split("&")[0]
    assert first_run and "journey-one" in first_run

    # a second tab (its own session) opens bare /train: the studio's last choice fills it; it starts
    # a second run. The first tab keeps its stopped run and offers to follow the new one.
    second = page.context.browser.new_context(viewport={"width": 1400, "height": 2600})
    other = second.new_page()
    watch(other)
    other.set_default_timeout(60_000)
    other.goto(f"{url}/train")
    seen(other, "Start training on journey").wait_for(timeout=120_000)
    settle(other)
    assert number(other, "Steps").input_value().replace(",", "") == "100000"
    other.get_by_label("Run name").fill("journey two")
    other.get_by_label("Run name").press("Enter")
    settle(other)
    button(other, "Start training on journey").click()
    seen(other, "journey two").wait_for(timeout=120_000)
    seen(page, "A new run started").wait_for(timeout=60_000)
    assert "journey one" in selectbox_text(page, "Run") and "journey-one" in page.url  # not switched
    wait_until(lambda: (p := progress_step(other)) and p[0] > 0 and p, timeout=240, what="the second run to train")
    button(other, "Stop").click()
    seen(other, text("Stopped at step")).wait_for(timeout=120_000)
    second.close()

    # resume the first run a little further: it finishes there
    stopped = progress_step(page)
    target = stopped[0] + 10
    set_number(page, "Train up to step", str(target))
    button(page, "Resume").click()
    seen(page, text("Finished:")).wait_for(timeout=240_000)
    assert progress_step(page) == (target, target)

    # Runs, through the Monitor's link: "Manage a run" opens on this run, not the newest
    page.get_by_text("Publish or manage this run").click()
    seen(page, "Manage a run").wait_for(timeout=60_000)
    settle(page)
    assert "journey one" in selectbox_text(page, "Run")
    name = page.get_by_label("Name", exact=True)
    name.fill("journey-model")
    name.press("Enter")
    settle(page)
    button(page, "Publish").click()
    seen(page, text("Published as")).wait_for()
    assert (home / "published" / "journey-model" / "config.json").is_file()

    # Explore the published model through a recipe link (a deep link too)
    from gan_core import explore as rc

    recipe = rc.Recipe(checkpoint="journey-model", seed_a=3, seed_b=5, t=0.5)
    page.goto(f"{url}/explore?recipe={recipe.to_url()}")
    panel = page.frame_locator("iframe")
    panel.locator("#gs-image img").wait_for(timeout=120_000)
    wait_until(lambda: "journey-model" in panel.locator("#gs-checkpoint input").input_value(), timeout=60,
               what="the panel to open the published model")
    time.sleep(0.5)
    shot(page, "explore")
