"""End to end: `streamlit run app.py` serves the panel at /gradio (queue running), the Explore page
embeds it and a dragged t slider changes the image; `python gradio_app.py` works alone.

Browser: Debian's chromium through Playwright. Screenshots go to test-artifacts/panel_*.png.
"""

from __future__ import annotations

import http.client
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from e2e_servers import ROOT, module_browser, page_fixture, serve  # noqa: F401  (a fixture)
from playwright.sync_api import Frame, FrameLocator, Page

from bench.http import RawClient
from panel_support import make_checkpoints
from gan_core import explore as rc

pytestmark = pytest.mark.slow  # a real browser against a real server

ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def catalogue_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    shipped = make_checkpoints(tmp_path_factory.mktemp("shipped"), ("digits", "plain", "fashion"))
    return {"GAN_STUDIO_SHIPPED": str(shipped), "GAN_STUDIO_HOME": str(tmp_path_factory.mktemp("home"))}


@pytest.fixture(scope="module")
def studio(catalogue_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """`streamlit run app.py` on a free port; yields the port."""
    with serve("studio", catalogue_env, tmp_path_factory.mktemp("logs") / "streamlit.log") as server:
        yield server.port


page = page_fixture(1500, 2000)


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"panel_{name}.png"), full_page=True)


def wait_src_change(img: Any, before: str | None, timeout: float = 15.0) -> str:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        src = img.get_attribute("src")
        if src and src != before:
            return src
        time.sleep(0.1)
    raise AssertionError("the image did not change")


def drag_t(page: Page, panel: FrameLocator | Frame | Page, fraction: float) -> None:
    """Drag the t slider's knob from its left end to `fraction` of its width, in small steps."""
    box = panel.locator("#gs-t input[type=range]").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 2, y)
    page.mouse.down()
    for k in range(1, 13):
        page.mouse.move(box["x"] + 2 + (box["width"] - 4) * fraction * k / 12, y)
        time.sleep(0.04)
    page.mouse.up()


def test_mounted_panel_answers_through_the_queue(studio: int) -> None:
    """Gradio's lifespan is forwarded: a queued call through /gradio completes (no endless spinner)."""
    client = RawClient(studio, prefix="/gradio")
    ms, _, out = client.call("render", ["digits", 3, -1, 1.0], fetch=True)
    client.close()
    assert "/gradio/gradio_api/file=" in out[0]["url"]
    c = http.client.HTTPConnection("127.0.0.1", studio, timeout=10)
    c.request("GET", "/gradio/")
    assert c.getresponse().status == 200


def test_explore_page_drag_changes_the_image(studio: int, page: Page) -> None:
    page.goto(f"http://127.0.0.1:{studio}/")
    page.get_by_role("link", name="Explore").click()
    page.wait_for_url("**/explore")
    panel = page.frame_locator("iframe")
    img = panel.locator("#gs-image img")
    img.wait_for(timeout=60_000)
    time.sleep(1.0)  # let the panel hydrate before input
    before = img.get_attribute("src")
    assert panel.locator("#gs-t input[type=number]").input_value() == "0"
    drag_t(page, panel, 0.6)
    after = wait_src_change(img, before)
    t_value = float(panel.locator("#gs-t input[type=number]").input_value())
    assert 0.3 < t_value < 0.9
    time.sleep(0.5)
    shot(page, "explore")
    assert after != before


def test_explore_link_with_a_recipe_opens_that_image(studio: int, page: Page) -> None:
    r = rc.Recipe(checkpoint="digits", seed_a=42, seed_b=7, t=0.25, class_a=3, class_b=8, mix=0.5, psi=0.8)
    page.goto(f"http://127.0.0.1:{studio}/explore?recipe={r.to_url()}")
    panel = page.frame_locator("iframe")
    panel.locator("#gs-image img").wait_for(timeout=60_000)
    t = panel.locator("#gs-t input[type=number]")
    t0 = time.monotonic()
    while t.input_value() != "0.25" and time.monotonic() - t0 < 15:
        time.sleep(0.1)
    assert t.input_value() == "0.25"
    assert panel.locator("#gs-seed-a input").input_value() == "42"
    assert panel.locator("#gs-psi input[type=number]").input_value() == "0.8"
    shot(page, "explore_link")
    # inside the studio, the panel's share link points at the Explore page, not at the bare panel
    panel.get_by_role("tab", name="Recipe").click()
    link = panel.locator("#gs-link textarea")
    t0 = time.monotonic()
    while "?recipe=" not in link.input_value() and time.monotonic() - t0 < 15:
        time.sleep(0.1)
    url = link.input_value()
    assert url.startswith(f"http://127.0.0.1:{studio}/explore?recipe="), url
    assert rc.from_url(url.split("recipe=", 1)[1]) == r.replace(weights_hash=rc.from_url(
        url.split("recipe=", 1)[1]).weights_hash)


def test_class_strip_labels_are_shown_whole(studio: int, page: Page) -> None:
    """Issue 20: long class names were cut to "0: 0-t..."; each label now wraps under its thumbnail."""
    page.goto(f"http://127.0.0.1:{studio}/explore?recipe={rc.Recipe(checkpoint='fashion').to_url()}")
    panel = page.frame_locator("iframe")
    labels = panel.locator("#gs-strip .caption-label")
    labels.nth(9).wait_for(timeout=60_000)
    time.sleep(0.5)
    shown = labels.evaluate_all("""(els) => els.map((c) => ({text: c.textContent.trim(),
        clipped: c.scrollWidth > c.clientWidth + 1 || c.scrollHeight > c.clientHeight + 1,
        inside: (() => { const b = c.getBoundingClientRect(), t = c.closest('button').getBoundingClientRect();
                         return b.width > 0 && b.left >= t.left - 1 && b.right <= t.right + 1 && b.bottom <= t.bottom + 1; })()}))""")
    from panel_support import TINY

    assert [x["text"] for x in shown] == [f"{i}: {n}" for i, n in enumerate(TINY["fashion"].class_names)]
    assert not any(x["clipped"] for x in shown) and all(x["inside"] for x in shown)
    shot(page, "strip_labels")


def test_gradio_app_alone(catalogue_env: dict[str, str], page: Page, tmp_path: Path) -> None:
    with serve("gradio", catalogue_env, tmp_path / "gradio.log") as server:
        port = server.port
        page.goto(f"http://127.0.0.1:{port}/?checkpoint=digits")
        img = page.locator("#gs-image img")
        img.wait_for(timeout=60_000)
        time.sleep(1.0)
        before = img.get_attribute("src")
        slider = page.locator("#gs-t input[type=range]")
        slider.focus()
        for _ in range(5):
            slider.press("PageUp")
        wait_src_change(img, before)
        assert float(page.locator("#gs-t input[type=number]").input_value()) > 0
        shot(page, "standalone")
        # the recipe tab shows a link that carries this exact image
        page.get_by_role("tab", name="Recipe").click()
        link = page.locator("#gs-link textarea")
        t0 = time.monotonic()
        while "?recipe=" not in link.input_value() and time.monotonic() - t0 < 15:
            time.sleep(0.1)
        url = link.input_value()
        assert url.startswith(f"http://127.0.0.1:{port}/?recipe=")
        r = rc.from_url(url.split("recipe=", 1)[1])
        assert r.checkpoint == "digits" and r.t > 0
        # the export tab makes a GIF and previews it
        page.get_by_role("tab", name="Export").click()
        page.get_by_role("button", name="Make animation (t = 0 → 1)").click()
        page.locator("#gs-anim img").wait_for(timeout=60_000)
        assert ".gif" in (page.locator("#gs-anim img").get_attribute("src") or "")
        shot(page, "export")
        # and an MP4 (ffmpeg from the imageio-ffmpeg requirement): offered for download
        page.get_by_label("MP4").check()
        page.get_by_role("button", name="Make animation (t = 0 → 1)").click()
        page.locator("a[href*='.mp4']").first.wait_for(timeout=60_000)
