"""`python -m bench browser`: the in-browser renderer and the server path, measured in a real page.

    python -m bench browser [--checkpoint NAME ...] [--steps 30] [--no-train] [--json]

For each shipped checkpoint (default: all of checkpoints/): starts `python gradio_app.py`, opens it
in headless Chromium (Playwright, /usr/bin/chromium or $CHROMIUM_PATH) and measures, inside the page
with performance.now() and requestAnimationFrame:

- server path (checkbox off): `--steps` single steps of t (one key press each, waiting for the new
  image), input event -> the frame after the new <img> has loaded;
- browser path (checkbox on): the first frame after switching on (the ONNX export is made before
  timing, so this is the cached case), then the same steps, input event -> the frame after the
  canvas was drawn, and onnxruntime-web's time per frame;
- the export's file sizes (fp32, fp16) and the largest/mean pixel difference the page measured
  between its renders and the server's;

idle, then while a one-thread training runs (unless --no-train). Prints one line per figure.
The same page helpers drive tests/test_e2e_browser_render.py.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from .load import ROOT, TrainingLoad
from .timing import percentiles

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
GOAL_BROWSER_P95_MS = 16.0  # issue 18: input to paint with WebAssembly on this CPU
GOAL_FIRST_FRAME_MS = 2000.0
GOAL_SERVER_P95_MS = 100.0  # issue 20 item 6: while a training runs

# window.__gsProbe: input times on t, and paint times of each new server image (the frame after it loaded)
PROBE_JS = """() => {
  if (window.__gsProbe) return;
  const probe = window.__gsProbe = { inputs: [], paints: [] };
  window.addEventListener('input', (e) => {
    if (e.target && e.target.closest && e.target.closest('#gs-t')) probe.inputs.push(performance.now());
  }, { capture: true, passive: true });
  const seen = new WeakSet();
  const watch = () => {
    const img = document.querySelector('#gs-image img');
    if (!img || seen.has(img)) return;
    seen.add(img);
    const onload = () => requestAnimationFrame(() => probe.paints.push({ at: performance.now(), src: img.src }));
    img.addEventListener('load', onload);
  };
  new MutationObserver(watch).observe(document.body, { subtree: true, childList: true, attributes: true,
                                                       attributeFilter: ['src'] });
  watch();
}"""


def open_panel(page: Any, base_url: str, checkpoint: str, renderer: bool = True) -> None:
    """Open the panel on a checkpoint and install the probe (renderer=False: a panel without
    in-browser rendering, e.g. an older version measured for comparison)."""
    page.goto(f"{base_url}/?checkpoint={checkpoint}")
    page.locator("#gs-image img").wait_for(timeout=120_000)
    if renderer:
        page.wait_for_function("() => !!window.GSBrowser", timeout=30_000)
    time.sleep(1.0)  # let the panel hydrate and the thumbnails/directions events finish
    page.evaluate(PROBE_JS)


def switch_on(page: Any, timeout_s: float = 180.0) -> dict[str, Any]:
    """Tick "In-browser rendering" and wait until the page has compared its renders with the server's
    (or given up with a message)."""
    page.evaluate("() => { GSBrowser.state.diff = null; GSBrowser.state.error = null; }")
    page.locator("#gs-browser-on input").check()
    page.wait_for_function("() => GSBrowser.state.diff !== null || GSBrowser.state.error !== null",
                           timeout=timeout_s * 1000)
    return page.evaluate("() => ({backend: GSBrowser.state.backend, error: GSBrowser.state.error, "
                         "diff: GSBrowser.state.diff, first_frame_ms: GSBrowser.state.firstFrameMs, "
                         "timings: GSBrowser.state.timings, model: GSBrowser.state.model})")


def switch_off(page: Any) -> None:
    page.locator("#gs-browser-on input").uncheck()
    page.wait_for_function("() => !GSBrowser.state.on", timeout=30_000)


def _press_t(page: Any, i: int) -> None:
    """Step i of a walk t = 0 -> 0.5 -> 0 -> ... in tenths (PageUp/PageDown): each step a new image."""
    page.locator("#gs-t input[type=range]").press("PageUp" if (i // 5) % 2 == 0 else "PageDown")


def server_steps(page: Any, steps: int, timeout_s: float = 10.0) -> list[float]:
    """Input -> painted new server image, ms, one key press at a time."""
    page.locator("#gs-t input[type=range]").focus()
    out = []
    for i in range(steps):
        n_paints = page.evaluate("() => window.__gsProbe.paints.length")
        n_inputs = page.evaluate("() => window.__gsProbe.inputs.length")
        _press_t(page, i)
        page.wait_for_function(f"() => window.__gsProbe.paints.length > {n_paints} && "
                               f"window.__gsProbe.inputs.length > {n_inputs}", timeout=timeout_s * 1000)
        time.sleep(0.05)  # a late second image (always_last) lands in this step, not the next
        out.append(page.evaluate(f"() => window.__gsProbe.paints[window.__gsProbe.paints.length - 1].at - "
                                 f"window.__gsProbe.inputs[{n_inputs}]"))
    return out


def browser_steps(page: Any, steps: int) -> tuple[list[float], list[float]]:
    """(input -> painted canvas ms, onnxruntime ms per frame), one key press at a time."""
    page.locator("#gs-t input[type=range]").focus()
    start_p = page.evaluate("() => GSBrowser.state.paintMs.length")
    start_f = page.evaluate("() => GSBrowser.state.frameMs.length")
    page.evaluate("() => { if (GSBrowser.state.phases) GSBrowser.state.phases.length = 0; }")
    for i in range(steps):
        n = page.evaluate("() => GSBrowser.state.paintMs.length")
        _press_t(page, i)
        page.wait_for_function(f"() => GSBrowser.state.paintMs.length > {n}", timeout=10_000)
    page.wait_for_timeout(300)  # any request the steps made has been reported by now
    paint = page.evaluate(f"() => GSBrowser.state.paintMs.slice({start_p})")
    frame = page.evaluate(f"() => GSBrowser.state.frameMs.slice({start_f})")
    return paint, frame


PHASES = (("input->start", "input", "start"), ("inference", "start", "ran"), ("canvas write", "ran", "drawn"),
          ("wait for frame", "drawn", "painted"))


def phase_breakdown(page: Any, start: int = 0) -> dict[str, dict[str, float]]:
    """Percentiles of each part of input-to-paint over the page's frames from index `start` (render.js's
    state.phases: input event -> inference start -> pixels ready -> canvas written -> the painting rAF)."""
    rows = page.evaluate(f"() => GSBrowser.state.phases.slice({start}).filter(p => p.input !== null && p.painted)")
    return {name: percentiles([r[b] - r[a] for r in rows]) for name, a, b in PHASES} if rows else {}


def canvas_digest(page: Any) -> str:
    return page.evaluate("""() => { const c = document.querySelector('#gs-browser-view canvas');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let h = 2166136261;
      for (let i = 0; i < d.length; i++) { h ^= d[i]; h = Math.imul(h, 16777619) >>> 0; } return String(h); }""")


def canvas_pixels(page: Any) -> Any:
    """(H, W, 4) uint8 RGBA of the canvas."""
    import numpy as np

    w, data = page.evaluate("""() => { const c = document.querySelector('#gs-browser-view canvas');
      return [c.width, Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)]; }""")
    return np.asarray(data, np.uint8).reshape(w, w, 4)


def drag_t(page: Any, steps: int, api_calls: list[str]) -> tuple[list[str], int]:
    """Drag the t knob across in `steps` moves, waiting for a new canvas each time.
    -> (canvas digest after each move, /gradio_api/ requests made during the drag)."""
    box = page.locator("#gs-t input[type=range]").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 2, y)
    before = len(api_calls)
    page.mouse.down()
    digests = []
    for k in range(1, steps + 1):
        n = page.evaluate("() => GSBrowser.state.frames")
        page.mouse.move(box["x"] + 2 + (box["width"] - 4) * k / steps, y)
        page.wait_for_function(f"() => GSBrowser.state.frames > {n} && !GSBrowser.state.busy", timeout=10_000)
        time.sleep(0.02)
        digests.append(canvas_digest(page))
    page.mouse.up()
    page.wait_for_timeout(500)  # (Playwright delivers the page's request events while it waits)
    return digests, len([u for u in api_calls[before:] if "/gradio_api/" in u])


def measure(checkpoint: str, steps: int) -> dict[str, Any]:
    """One checkpoint, on a fresh server and page: server steps, switch on, browser steps."""
    from playwright.sync_api import sync_playwright

    from .http import PanelServer

    with PanelServer(checkpoint) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        base = f"http://127.0.0.1:{server.port}"
        open_panel(page, base, server.name)
        switch_on(page)  # makes (or reuses) the export
        switch_off(page)
        page.reload()
        open_panel(page, base, server.name)
        server_ms = server_steps(page, steps)
        on = switch_on(page)
        paint, frame = browser_steps(page, steps) if not on["error"] else ([], [])
        phases = phase_breakdown(page) if paint else {}
        browser.close()
    m = on.get("model") or {}
    return {"checkpoint": server.name, "backend": on["backend"], "error": on["error"],
            "export_bytes": m.get("bytes"), "precision": m.get("precision"), "diff": on["diff"],
            "first_frame_ms": on["first_frame_ms"], "browser_input_to_paint": percentiles(paint) if paint else None,
            "browser_frame": percentiles(frame) if frame else None, "browser_phases": phases,
            "server_input_to_paint": percentiles(server_ms)}


def run(checkpoints: list[str], steps: int = 30, train: bool = True) -> list[dict[str, Any]]:
    out = []
    for name in checkpoints:
        out.append({"phase": "idle", **measure(name, steps)})
        if train:
            with TrainingLoad() as load:
                r = measure(name, steps)
                out.append({"phase": "training", **r, "train_steps": load.steps() - load.steps_at_start})
    return out


def report(r: dict[str, Any]) -> str:
    def p(d: dict[str, float] | None) -> str:
        return "n/a" if not d else f"p50 {d['p50_ms']:.1f} / p95 {d['p95_ms']:.1f} ms"

    if r["error"]:
        return f"{r['checkpoint']:>16} {r['phase']:>8}: in-browser off: {r['error']}"
    sizes = ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in (r["export_bytes"] or {}).items())
    return (f"{r['checkpoint']:>16} {r['phase']:>8}: export {sizes}; {r['backend']} ({r['precision']}) "
            f"input->paint {p(r['browser_input_to_paint'])} (goal p95 <= {GOAL_BROWSER_P95_MS:.0f}), "
            f"frame {p(r['browser_frame'])}, first frame {r['first_frame_ms']:.0f} ms "
            f"(goal <= {GOAL_FIRST_FRAME_MS:.0f}); diff vs server max {r['diff']['max']} / mean "
            f"{r['diff']['mean']:.3f} levels; server input->paint {p(r['server_input_to_paint'])} "
            f"(goal p95 <= {GOAL_SERVER_P95_MS:.0f} while training)" +
            "".join(f"\n{'':>27}{name}: {p(d)}" for name, d in (r.get("browser_phases") or {}).items()))


def shipped() -> list[str]:
    return sorted(p.name for p in (ROOT / "checkpoints").iterdir() if (p / "config.json").is_file())


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", action="append", help="a shipped checkpoint name (repeatable; default: all)")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--no-train", action="store_true", help="skip the phase with a training running")
    p.add_argument("--json", action="store_true")


def run_cli(a: argparse.Namespace) -> int:
    results = run(a.checkpoint or shipped(), a.steps, train=not a.no_train)
    for r in results:
        print(json.dumps(r) if a.json else report(r))
    return 0

