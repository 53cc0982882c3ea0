"""End to end: "In-browser rendering" in headless Chromium against `python gradio_app.py` and the studio.

Switched on, dragging t redraws the canvas on every move with no request to /gradio_api/; the browser's
image matches the server's for every shipped model (mean difference <= 2 grey levels); without
WebAssembly SIMD, or when the model file fails to load, the panel says so and the server renders.
Figures (input-to-paint p50/p95 over the drag, first frame) go to test-artifacts/browser_render.json;
the goals live in `python -m bench browser`, not here.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
from e2e_servers import ROOT, fresh_page, module_browser, page_fixture, serve, sibling_browser  # noqa: F401
from playwright.sync_api import Browser, Page

from bench import browser as bb
from bench.timing import percentiles
from conftest import SHIPPED

pytestmark = pytest.mark.slow  # a real browser against real servers

ARTIFACTS = ROOT / "test-artifacts"
if not (ROOT / "node_modules" / "onnxruntime-web" / "dist").is_dir():
    pytest.skip("onnxruntime-web is not installed (npm ci)", allow_module_level=True)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The shipped checkpoints, a fresh app home (so each model is exported once, by this module)."""
    return {"GAN_STUDIO_HOME": str(tmp_path_factory.mktemp("home"))}


@pytest.fixture(scope="module")
def app(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve("gradio", env, tmp_path_factory.mktemp("logs") / "gradio.log") as server:
        yield server.url


page = page_fixture(1400, 1600)


def requests_of(page: Page) -> list[str]:
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    return urls


def server_pixels(name: str, t: float) -> np.ndarray:
    """The server's image of the panel's default recipe at t (seeds 0 -> 1), rendered here."""
    from gan_core.explore import Recipe
    from gan_core.render import RenderService

    return RenderService(ROOT / "checkpoints" / name, threads=0).render_recipe(Recipe(checkpoint=name, t=t))


def mean_diff(canvas_rgba: np.ndarray, server: np.ndarray) -> float:
    c = server.shape[2]
    return float(np.abs(canvas_rgba[..., :c].astype(int) - server.astype(int)).mean())


def save_figures(key: str, figures: dict[str, Any]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "browser_render.json"
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[key] = figures
    path.write_text(json.dumps(data, indent=2))


def test_drag_t_redraws_in_the_browser_with_no_server_request(app: str, page: Page) -> None:
    calls = requests_of(page)
    bb.open_panel(page, app, "mnist-acgan")
    bb.switch_on(page)  # the first switch-on exports the model (not timed: a one-off per checkpoint)
    bb.switch_off(page)
    page.reload()
    bb.open_panel(page, app, "mnist-acgan")
    state = bb.switch_on(page)
    assert state["error"] is None and state["backend"] in ("wasm", "webgpu")
    view = page.locator("#gs-browser-view")
    assert "Rendering in this browser with WebAssembly" in view.inner_text()
    assert "Largest difference from the server's image" in view.inner_text()
    assert page.locator("#gs-browser-view canvas").is_visible() and not page.locator("#gs-image").is_visible()
    first_paint = page.evaluate("() => GSBrowser.state.paintMs.length")

    start_digest = bb.canvas_digest(page)
    digests, api = bb.drag_t(page, 30, calls)
    assert api == 0, [u for u in calls if "/gradio_api/" in u][-5:]
    assert len(digests) == 30
    assert all(a != b for a, b in zip([start_digest] + digests, digests)), "a move left the canvas as it was"
    paint = page.evaluate(f"() => GSBrowser.state.paintMs.slice({first_paint})")
    frame = page.evaluate("() => GSBrowser.state.frameMs.slice(1)")
    phases = bb.phase_breakdown(page, 1)  # where each frame's time went, in order
    assert [name for name, _, _ in bb.PHASES] == list(phases) and phases["inference"]["n"] >= 20
    assert all(p["p50_ms"] >= 0 for p in phases.values()) and phases["inference"]["p50_ms"] > 0
    t = float(page.locator("#gs-t input[type=number]").input_value())
    assert t > 0.9  # the number box follows the drag; Gradio's state has the value too
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser_render_on.png"))
    save_figures("drag_30", {"input_to_paint_ms": percentiles(paint), "frame_ms": percentiles(frame),
                             "first_frame_ms": state["first_frame_ms"], "timings_ms": state["timings"],
                             "phases_ms": phases,
                             "paints": len(paint), "backend": state["backend"],
                             "note": "headless Chromium, WebAssembly, 1 thread, shared 2-core machine"})

    # the canvas is the server's image at the same t
    assert mean_diff(bb.canvas_pixels(page), server_pixels("mnist-acgan", t)) <= 2.0

    # off: the server renders again, at the slider's position, and the image is back
    before = page.locator("#gs-image img").get_attribute("src")
    bb.switch_off(page)
    page.wait_for_function(f"() => document.querySelector('#gs-image img').src !== {json.dumps(before)}",
                           timeout=20_000)
    assert page.locator("#gs-image").is_visible() and not page.locator("#gs-browser-view canvas").is_visible()
    with page.expect_request(lambda r: "/gradio_api/" in r.url, timeout=15_000):
        page.locator("#gs-t input[type=range]").press("ArrowLeft")  # the slider asks the server again


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_model_renders_the_servers_image(app: str, page: Page, name: str) -> None:
    bb.open_panel(page, app, name)
    state = bb.switch_on(page)
    assert state["error"] is None, state["error"]
    assert state["diff"]["mean"] <= 2.0 and state["diff"]["images"] >= 3  # measured by the page
    page.locator("#gs-t input[type=range]").focus()
    for _ in range(3):
        n = page.evaluate("() => GSBrowser.state.frames")
        page.locator("#gs-t input[type=range]").press("PageUp")
        page.wait_for_function(f"() => GSBrowser.state.frames > {n} && !GSBrowser.state.busy")
    t = float(page.locator("#gs-t input[type=number]").input_value())
    diff = mean_diff(bb.canvas_pixels(page), server_pixels(name, t))  # measured here, independently
    assert diff <= 2.0
    save_figures(f"diff_{name}", {"page_max": state["diff"]["max"], "page_mean": state["diff"]["mean"],
                                  "test_mean_at_t": diff, "t": t, "export_bytes": state["model"]["bytes"]})


# WebGPU headless (Debian's Chromium 156, no GPU): with --disable-gpu or no flag, navigator.gpu exists but
# requestAdapter() gives null; --enable-unsafe-webgpu (alone, or with --use-webgpu-adapter=swiftshader,
# --use-angle=swiftshader, --enable-features=Vulkan, --use-vulkan=swiftshader, --enable-unsafe-swiftshader,
# --ignore-gpu-blocklist) gives SwiftShader's adapter: software, isFallbackAdapter true, vendor "google",
# architecture "swiftshader"; its frame time goes to test-artifacts/browser_render.json ("webgpu_swiftshader")
WEBGPU_ARGS = [a for a in bb.CHROMIUM_ARGS if a != "--disable-gpu"] + ["--enable-unsafe-webgpu"]
HAS_ADAPTER = "async () => !!(navigator.gpu && await navigator.gpu.requestAdapter())"


def test_the_webgpu_path_renders_the_servers_image(app: str, module_browser: Browser) -> None:  # noqa: F811
    with sibling_browser(module_browser, WEBGPU_ARGS) as browser:
        with fresh_page(browser, 1400, 1600) as page:
            bb.open_panel(page, app, "mnist-dcgan")
            if not page.evaluate(HAS_ADAPTER):
                pytest.skip("this Chromium gives no WebGPU adapter headless, even with --enable-unsafe-webgpu")
            # by default a software (fallback) adapter is passed over: WebAssembly is faster than it
            state = bb.switch_on(page)
            assert state["error"] is None and state["backend"] == "wasm"
            assert page.evaluate("() => GSBrowser.state.adapter.fallback") is True
        with fresh_page(browser, 1400, 1600) as page:
            page.add_init_script("window.GS_ALLOW_FALLBACK_GPU = true;")
            bb.open_panel(page, app, "mnist-dcgan")
            state = bb.switch_on(page)
            assert state["error"] is None and state["backend"] == "webgpu", state
            assert "Rendering in this browser with WebGPU" in page.locator("#gs-browser-view").inner_text()
            assert state["diff"]["mean"] <= 2.0 and state["diff"]["images"] >= 3  # measured by the page
            before = bb.canvas_digest(page)
            paint, frame = bb.browser_steps(page, 3)
            assert len(paint) >= 3 and bb.canvas_digest(page) != before
            t = float(page.locator("#gs-t input[type=number]").input_value())
            diff = mean_diff(bb.canvas_pixels(page), server_pixels("mnist-dcgan", t))  # measured here
            assert t > 0 and diff <= 2.0
            save_figures("webgpu_swiftshader", {"frame_ms": percentiles(frame), "input_to_paint_ms": percentiles(paint),
                                                "test_mean_at_t": diff, "adapter": page.evaluate(
                                                    "() => GSBrowser.state.adapter")})


def test_without_webassembly_simd_the_server_renders_and_says_why(app: str, page: Page) -> None:
    # neither WebAssembly SIMD (the runtime's probe fails) nor WebGPU
    page.add_init_script("WebAssembly.validate = () => false; Object.defineProperty(Navigator.prototype, 'gpu', "
                         "{ get: () => undefined, configurable: true });")
    calls = requests_of(page)
    bb.open_panel(page, app, "mnist-dcgan")
    assert page.evaluate("() => navigator.gpu === undefined")
    state = bb.switch_on(page)
    assert "no WebAssembly SIMD" in state["error"]
    text = page.locator("#gs-browser-view").inner_text()
    assert "In-browser rendering is off" in text and "server renders" in text
    assert page.locator("#gs-image").is_visible()
    before = page.locator("#gs-image img").get_attribute("src")
    n = len(calls)
    page.locator("#gs-t input[type=range]").press("PageUp")
    page.wait_for_function(f"() => document.querySelector('#gs-image img').src !== {json.dumps(before)}",
                           timeout=20_000)
    assert any("/gradio_api/" in u for u in calls[n:])


def test_a_model_file_that_fails_to_load_falls_back_to_the_server(app: str, page: Page) -> None:
    page.route("**/gs-browser/model/**/*.onnx", lambda route: route.fulfill(status=500, body="broken"))
    bb.open_panel(page, app, "orl-faces-acgan")
    state = bb.switch_on(page)
    assert state["error"] and "did not load" in state["error"] and "500" in state["error"], state
    assert "In-browser rendering is off" in page.locator("#gs-browser-view").inner_text()
    assert page.locator("#gs-image").is_visible()
    # a corrupt file: the runtime refuses it, same fall-back
    page.unroute("**/gs-browser/model/**/*.onnx")
    page.route("**/gs-browser/model/**/*.onnx", lambda route: route.fulfill(status=200, body=b"not onnx" * 10))
    page.locator("#gs-browser-on input").uncheck()
    state = bb.switch_on(page)
    assert "could not be loaded" in state["error"]
    assert page.locator("#gs-image").is_visible()


def test_the_studio_explore_page_renders_in_the_browser(env: dict[str, str], page: Page, tmp_path: Path) -> None:
    with serve("studio", env, tmp_path / "streamlit.log") as server:
        calls = requests_of(page)
        page.goto(f"{server.url}/explore")
        page.frame_locator("iframe").locator("#gs-image img").wait_for(timeout=90_000)
        frame = next(f for f in page.frames if "/gradio" in f.url)
        frame.wait_for_function("() => !!window.GSBrowser", timeout=30_000)
        time.sleep(1.0)
        state = bb.switch_on(frame)  # the runtime and model are served by the Streamlit server's routes
        assert state["error"] is None and state["backend"] == "wasm"
        assert any("/gs-browser/ort/ort-wasm-simd-threaded.wasm" in u for u in calls)
        n = len(calls)
        paint, _ = bb.browser_steps(frame, 5)
        assert len(paint) >= 5 and not any("/gradio_api/" in u for u in calls[n:])


# `python gradio_app.py` whose exporter meets a generator it cannot trace: the graph reads a value back
# into Python (a data-dependent branch), as a custom layer might; the server's own renders are unchanged
UNEXPORTABLE_APP = """
import runpy, sys, torch
sys.path.insert(0, {root!r})
from gan_core import onnx_export

class ReadsBack(torch.nn.Module):
    def __init__(self, generator):
        super().__init__()
        self.generator = generator

    def forward(self, *args):
        x = self.generator(*args)
        if float(x.sum()) > 1e9:  # data-dependent: torch.export cannot trace it
            x = x * 0
        return x

plain = onnx_export.plain_layers
onnx_export.plain_layers = lambda g: ReadsBack(plain(g))
runpy.run_path({app!r}, run_name="__main__")
"""


def test_a_checkpoint_that_cannot_be_exported_stays_on_the_server(env: dict[str, str], page: Page,
                                                                   tmp_path: Path) -> None:
    script = tmp_path / "unexportable_app.py"
    script.write_text(UNEXPORTABLE_APP.format(root=str(ROOT), app=str(ROOT / "gradio_app.py")))
    home = {**env, "GAN_STUDIO_HOME": str(tmp_path / "home")}  # no export cached from the other tests
    with serve("gradio", home, tmp_path / "gradio.log", script=str(script)) as server:
        calls = requests_of(page)
        bb.open_panel(page, server.url, "mnist-dcgan")
        state = bb.switch_on(page)
        assert state["error"] and "cannot be rendered in the browser" in state["error"], state
        assert "could not be exported to ONNX" in state["error"]
        text = page.locator("#gs-browser-view").inner_text()
        assert "cannot be rendered in the browser" in text and "rendering on the server" in text
        assert "Traceback" not in text
        assert page.locator("#gs-image").is_visible() and not page.locator("#gs-browser-view canvas").is_visible()
        assert not any("/gs-browser/model/" in u for u in calls)  # no model was offered to the page
        before = page.locator("#gs-image img").get_attribute("src")
        n = len(calls)
        page.locator("#gs-t input[type=range]").press("PageUp")  # the server renders the slider
        page.wait_for_function(f"() => document.querySelector('#gs-image img').src !== {json.dumps(before)}",
                               timeout=20_000)
        assert any("/gradio_api/" in u for u in calls[n:])
