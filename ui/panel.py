"""The Gradio panel: real-time latent exploration, classes, directions, grids, exports and recipes.

`build_panel(hub)` returns a `gr.Blocks`; `gradio_app.py` launches it alone and `ui/server.py`
mounts it into the Streamlit server at /gradio. Layout and wiring live here: every component
an event reads or writes has a name (`Wiring`), and each event is wired by the names its
handler reads and writes, so no handler depends on the layout's order. What each event does
lives in `ui/panel_logic.py` and `ui/panel_load.py`, the controls <-> recipe mapping in
`ui/recipe.py`, the named API in `ui/panel_api.py`, the recipe itself in `gan_core.explore`.

Named API ("Use via API"; the tests and benchmarks call these; see `ui/panel_api.py`):
    /render(checkpoint, seed, class_index, truncation) -> image
    /interpolate(checkpoint, seed_a, seed_b, t, mode, class_a, class_b) -> image
    /animate(checkpoint, seed_a, seed_b, frames, mode, class_a, class_b) -> GIF file
Every other event is private (not callable by API clients).

Queue: renders are serialised by the render service's lock, so more workers only contend for
it. The sliders (t, mix, psi, directions) skip Gradio's queue: one POST answers with the image,
itself inline as a data: URL (`inline_png`), where the queue would take a join request, an event
stream and then a separate fetch of the image file (issue 20: those were most of the ~110 ms between
input and paint). A page sends one slider render at a time (trigger_mode "always_last"). Other
renders and the named API go through the queue: two concurrent renders let one image's PNG
encoding overlap the next render; long jobs (GIF, grid, class strip, directions) run one at a time
in their own group and render frame by frame, so they never hold the generator for long and
sliders stay live while they run. `max_size` bounds the waiting line: at ~5 ms per render, 64
queued events are ~0.3 s of work; more are refused with "queue full" instead of piling up.

In-browser rendering (`ui/browser/`): with the checkbox on, the page renders the sliders itself
and their server render stops in its client-side step (GATE_JS) before any request.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import gradio as gr

from gan_core.explore import DIRECTION_RANGE, FPS_RANGE, FRAMES_RANGE, MODES, PSI_RANGE
from gan_core.latent import EASINGS, MAX_SEED

from . import panel_exports as ex
from .panel_api import RENDER_LIMIT, named_api
from .panel_load import APPLY_OUTPUTS, PanelLoad
from .panel_logic import ANIMATION_OUTPUTS, RECIPE_OUTPUTS, RESET_OUTPUTS, PanelLogic
from .panel_wiring import Wiring
from .recipe import CONTROLS, DIRECTION_CONTROLS, defaults

QUEUE = {"default_concurrency_limit": 2, "max_size": 64}
CSS = """
#gs-image img, #gs-grid img, #gs-anim img, #gs-strip img { image-rendering: pixelated; }
#gs-image .image-container, #gs-image .image-container > button, #gs-image .image-frame,
#gs-grid .image-container, #gs-grid .image-container > button, #gs-grid .image-frame,
#gs-anim .image-container, #gs-anim .image-container > button, #gs-anim .image-frame
  { width: 100%; height: 100%; }
#gs-image .image-frame img, #gs-grid .image-frame img, #gs-anim .image-frame img
  { width: 100%; height: 100%; object-fit: contain; }
#gs-strip .grid-container { grid-template-columns: repeat(auto-fill, minmax(72px, 1fr)) !important;
  padding-top: 28px; }
#gs-strip .thumbnail-item { display: flex; flex-direction: column; align-items: stretch; height: auto;
  aspect-ratio: auto; }
#gs-strip .thumbnail-item img { width: 100%; height: 64px; flex: none; }
#gs-strip .caption-label { position: static; max-width: none; width: auto; white-space: normal;
  overflow: visible; text-overflow: clip; overflow-wrap: anywhere; transform: none; margin: 2px 0 0;
  font-size: var(--text-xs); line-height: 1.2; text-align: center; }
#gs-browser-view canvas { display: none; width: 100%; height: 460px; object-fit: contain;
  image-rendering: pixelated; background: var(--block-background-fill); }
#gs-browser-view .gs-bv-status, #gs-browser-view .gs-bv-diff { font-size: var(--text-sm); margin: 4px 0; }
#gs-browser-view .gs-bv-error { color: var(--error-text-color, #b91c1c); }
"""
# in-browser rendering (ui/browser/render.js): the hot sliders' server render is stopped in its
# client-side step while the browser renders (no request is made); a client-only event mirrors
# every recipe control into the page; the payload starts or stops the browser's renderer
GATE_JS = """(...args) => {
  if (window.GSBrowser && window.GSBrowser.owns()) throw new Error("rendered in the browser");
  return args;
}"""
MIRROR_JS = "(...values) => { if (window.GSBrowser) window.GSBrowser.controls(%s, values); }"
SETUP_JS = "(data) => { if (window.GSBrowser) window.GSBrowser.setup(data); }"
PREPARE_JS = "(...args) => { if (window.GSBrowser) window.GSBrowser.preparing(args[0]); return args; }"
LINK_JS = """(code) => {
  let loc = window.location;
  try { if (window.parent !== window && window.parent.location.href) loc = window.parent.location; } catch (e) {}
  return code ? loc.origin + loc.pathname + '?recipe=' + code : '';
}"""


def inline_png(image: gr.Image) -> gr.Image:
    """Make this gr.Image send its PNG inside the event's answer as a data: URL (with its recipe
    chunk), instead of writing it to Gradio's cache for the page to fetch in a second request: one
    round trip less between a slider's input and the new image (issue 20). Download keeps working
    (the browser saves the data URL as image.png, recipe included). Done on the instance, not with
    a subclass: Gradio writes a .pyi stub next to the module of every component subclass."""
    plain = image.postprocess

    def postprocess(value: Any) -> Any:
        from PIL import Image

        if not isinstance(value, Image.Image):
            return plain(value)
        from gradio.data_classes import ImageData
        from gradio.processing_utils import encode_pil_to_bytes

        data = base64.b64encode(encode_pil_to_bytes(value, "png")).decode("ascii")
        return ImageData(url=f"data:image/png;base64,{data}", orig_name="image.png", mime_type="image/png")

    image.postprocess = postprocess  # type: ignore[method-assign]
    return image


def launch_options() -> dict[str, Any]:
    """Theme, CSS and footer for `launch()` / `mount_gradio_app()` (Gradio 6 takes them there)."""
    from .browser.assets import head

    return {"theme": gr.themes.Soft(primary_hue="violet"), "css": CSS, "footer_links": ["api", "settings"],
            "show_error": True, "head": head()}


def build_panel(hub: Any = None) -> gr.Blocks:
    """The panel as a Blocks, rendering through `hub` (default: the process's render hub)."""
    if hub is None:
        from .services import hub as shared_hub

        hub = shared_hub()
    logic = PanelLogic(hub)
    w = Wiring()
    with gr.Blocks(title="GAN Studio · latent explorer", analytics_enabled=False,
                   delete_cache=(900, 3600)) as demo:
        _layout(w, defaults())
        named_api(logic)
        _wire(w, logic, PanelLoad(logic), demo)
    demo.queue(**QUEUE)
    _skip_queue_analytics(demo)
    return demo


def _layout(w: Wiring, d: dict[str, Any]) -> None:
    """Every component, named in `w` (recipe controls by their `CONTROLS` names)."""
    with gr.Row(equal_height=True):
        # custom values allowed: the handlers validate every name and class themselves, and a
        # session whose server-side state was evicted must not fail on its own choices
        w["checkpoint"] = gr.Dropdown(label="Checkpoint", choices=[], value=None, scale=6,
                                      allow_custom_value=True, elem_id="gs-checkpoint")
        w["refresh"] = gr.Button("↻ Refresh list", scale=0, min_width=130)
    w["info"] = gr.Markdown(elem_id="gs-info")
    with gr.Row():
        with gr.Column(scale=5, min_width=340):
            with gr.Row():
                for s in ("a", "b"):
                    with gr.Column(min_width=140):
                        w[f"seed_{s}"] = gr.Number(label=f"Seed {s.upper()}", value=d[f"seed_{s}"], precision=0,
                                                   minimum=0, maximum=MAX_SEED, elem_id=f"gs-seed-{s}")
                        w[f"roll_{s}"] = gr.Button(f"Random seed {s.upper()}", size="sm")
            w["t"] = gr.Slider(0.0, 1.0, value=d["t"], step=0.001, label="t  (A → B → keyframes)", elem_id="gs-t")
            with gr.Row():
                w["mode"] = gr.Radio(list(MODES), value=d["mode"], label="Path", scale=1)
                w["easing"] = gr.Dropdown(list(EASINGS), value=d["easing"], label="Easing", scale=1)
            w["keyframes"] = gr.Textbox(label="Keyframes after B", placeholder="e.g. 42, 7, 1999",
                                        info="More seeds: A → B → C → …; t runs along the whole path.")
            with gr.Group(visible=False) as classes:
                w["classes"] = classes
                with gr.Row():
                    for s in ("a", "b"):
                        w[f"class_{s}"] = gr.Dropdown(label=f"Class {s.upper()}", choices=[("-", -1)], value=-1,
                                                      allow_custom_value=True, elem_id=f"gs-class-{s}")
                w["mix"] = gr.Slider(0.0, 1.0, value=d["mix"], step=0.01, label="Class mix (A → B)",
                                     elem_id="gs-mix")
                w["mix_follows_t"] = gr.Checkbox(value=d["mix_follows_t"],
                                                 label="Class mix follows t (A at t=0, B at t=1)")
                w["strip_target"] = gr.Radio(["class A", "class B"], value="class A",
                                             label="Clicking a thumbnail sets")
                w["strip"] = gr.Gallery(label="Every class at seed A (click to pick)", columns=8, height=320,
                                        format="png", allow_preview=False, object_fit="contain",
                                        elem_id="gs-strip", buttons=[])
            w["psi"] = gr.Slider(PSI_RANGE[0], PSI_RANGE[1], value=d["psi"], step=0.01,
                                 label="Truncation ψ (lower = more typical)", elem_id="gs-psi")
            with gr.Accordion("Latent directions (discovered, by variance)", open=False):
                for i, name in enumerate(DIRECTION_CONTROLS):
                    w[name] = gr.Slider(DIRECTION_RANGE[0], DIRECTION_RANGE[1], value=0.0, step=0.05,
                                        label=f"Direction {i + 1}", elem_id=f"gs-{name}")
                w["reset"] = gr.Button("Reset ψ and directions", size="sm")
            # export settings live in hidden recipe controls so every recipe carries them (set on Export)
            for name in ("frames", "fps", "directions_k"):
                w[name] = gr.Number(value=d[name], visible=False, precision=0)
        with gr.Column(scale=4, min_width=320):
            w["image"] = inline_png(gr.Image(label="Image", type="pil", format="png", interactive=False, height=460,
                                             elem_id="gs-image", buttons=["download", "fullscreen"]))
            w["browser_view"] = gr.HTML("", elem_id="gs-browser-view", padding=False)
            w["browser_on"] = gr.Checkbox(value=False, label="In-browser rendering", elem_id="gs-browser-on",
                                          info="Sliders redraw here without asking the server "
                                               "(WebGPU or WebAssembly); exports stay server-rendered.")
            w["browser_data"] = gr.Textbox(visible=False)
            gr.Markdown("The download button saves a PNG with its recipe inside; drop it on "
                        "*Recipe → Load* to get this exact image back.", elem_id="gs-hint")
    with gr.Tabs():
        with gr.Tab("Grid"):
            with gr.Row():
                w["grid_kind"] = gr.Radio(["seeds", "one row per class"], value="seeds", label="Grid of")
                w["grid_cols"] = gr.Slider(1, 16, value=8, step=1, label="Columns")
                w["grid_rows"] = gr.Slider(1, 16, value=4, step=1, label="Rows (seeds grid)")
            w["grid_btn"] = gr.Button("Render grid", variant="primary")
            w["grid"] = gr.Image(label="Grid (from seed A on, current class, ψ and directions)", type="pil",
                                 format="png", interactive=False, height=560, elem_id="gs-grid")
        with gr.Tab("Export"):
            fmts = ["GIF", "MP4"] if ex.ffmpeg() else ["GIF"]
            with gr.Row():
                w["export_frames"] = gr.Slider(FRAMES_RANGE[0], FRAMES_RANGE[1], value=d["frames"], step=1,
                                               label="Frames")
                w["export_fps"] = gr.Slider(FPS_RANGE[0], FPS_RANGE[1], value=d["fps"], step=1,
                                            label="Frames per second")
                w["export_scale"] = gr.Radio(list(ex.SCALES), value=4, label="Pixel scale")
                w["export_format"] = gr.Radio(fmts, value="GIF", label="Format")
            if len(fmts) == 1:
                gr.Markdown("MP4 export appears when `ffmpeg` is installed on the server.")
            w["anim_btn"] = gr.Button("Make animation (t = 0 → 1)", variant="primary")
            with gr.Row():
                w["anim_preview"] = gr.Image(label="Preview", type="filepath", interactive=False, height=320,
                                             elem_id="gs-anim")
                w["anim_file"] = gr.File(label="Animation (recipe in the file)")
            w["png_btn"] = gr.Button("Export PNG of the current image (with recipe)")
            w["png_file"] = gr.File(label="PNG")
        with gr.Tab("Recipe") as recipe_tab:
            w["recipe_tab"] = recipe_tab
            gr.Markdown("A recipe names one image exactly: checkpoint and weights hash, seeds, t, "
                        "classes, ψ and directions. Share the link, download the JSON, or load a "
                        "recipe, PNG or GIF export to reproduce an image bit for bit.")
            w["link"] = gr.Textbox(label="Link to this image", buttons=["copy"], interactive=False,
                                   elem_id="gs-link")
            w["link_code"] = gr.Textbox(visible=False)
            with gr.Row():
                w["show_btn"] = gr.Button("Update recipe and link")
                w["upload"] = gr.UploadButton("Load recipe / PNG / GIF", file_types=[".json", ".png", ".gif"],
                                              type="filepath")
            w["recipe_code"] = gr.Code(label="Recipe JSON", language="json", interactive=False, buttons=["copy"])
            w["recipe_file"] = gr.File(label="Recipe file")
            w["paste"] = gr.Textbox(label="Paste a recipe (JSON) or a link", lines=3)
            w["paste_btn"] = gr.Button("Apply pasted recipe")


def _wire(w: Wiring, logic: PanelLogic, load: PanelLoad, demo: gr.Blocks) -> None:
    """Every private event, by the names each handler reads and writes."""
    hot: dict[str, Any] = dict(trigger_mode="always_last", show_progress="hidden", concurrency_id="render",
                               concurrency_limit=RENDER_LIMIT, api_visibility="private")
    slow: dict[str, Any] = dict(concurrency_id="slow", concurrency_limit=1, api_visibility="private")
    private: dict[str, Any] = dict(api_visibility="private")

    def after_model(event: Any) -> None:
        """After a recipe or model is applied: the export sliders show its frames/fps, then the
        thumbnails and direction labels follow (they take longer than one image)."""
        synced = w.on(event.then, lambda v: {"export_frames": v["frames"], "export_fps": v["fps"]},
                      ["frames", "fps"], ["export_frames", "export_fps"], queue=False, **private)
        strip = w.on(synced.then, logic.strip, CONTROLS, ["strip"], show_progress="hidden", **slow)
        browser = w.on(strip.then, logic.browser, ["browser_on", *CONTROLS], ["browser_data"],
                       show_progress="hidden", **slow)
        browser.then(None, w["browser_data"], None, js=SETUP_JS)
        w.on(strip.then, logic.direction_labels, CONTROLS, DIRECTION_CONTROLS, show_progress="hidden", **slow)

    # the sliders skip the queue: one POST answers with the image, instead of a queue join, an event
    # stream and its messages (renders are still serialised by the render service's lock)
    slider: dict[str, Any] = dict(trigger_mode="always_last", show_progress="hidden", queue=False,
                                  api_visibility="private")
    for name in ("t", "mix", "psi", *DIRECTION_CONTROLS):  # drawn by the browser when it renders
        w.on(w[name].input, logic.update, CONTROLS, ["image"], js=GATE_JS, **slider)
    for name in ("seed_b", "mode", "easing", "class_a", "class_b", "mix_follows_t"):
        w.on(w[name].input, logic.update, CONTROLS, ["image"], **hot)
    switched = w.on(w["browser_on"].change, logic.browser_switched, ["browser_on", *CONTROLS],
                    ["browser_data", "image"], js=PREPARE_JS, show_progress="hidden", **slow)
    switched.then(None, w["browser_data"], None, js=SETUP_JS)
    # the page's copy of the recipe controls: the sliders' own input events reach it directly
    # (render.js), other controls and programmatic changes (reset, a loaded recipe) through these
    mirror = MIRROR_JS % json.dumps(list(CONTROLS))
    for name in CONTROLS:
        if name not in ("t", "mix", "psi", *DIRECTION_CONTROLS):
            w[name].change(None, [w[n] for n in CONTROLS], None, js=mirror, queue=False, api_visibility="private")
    w.on(w["keyframes"].submit, logic.update, CONTROLS, ["image"], **hot)
    w.on(w["keyframes"].blur, logic.update, CONTROLS, ["image"], **hot)
    seed_a = w.on(w["seed_a"].input, logic.update, CONTROLS, ["image"], **hot)
    w.on(seed_a.then, logic.strip, CONTROLS, ["strip"], show_progress="hidden", trigger_mode="always_last", **slow)
    rolled_a = w.on(w["roll_a"].click, lambda v: logic.roll("seed_a", v), CONTROLS, ["seed_a", "image"],
                    concurrency_id="render", **private)
    w.on(rolled_a.then, logic.strip, CONTROLS, ["strip"], show_progress="hidden", **slow)
    w.on(w["roll_b"].click, lambda v: logic.roll("seed_b", v), CONTROLS, ["seed_b", "image"],
         concurrency_id="render", **private)
    reset = w.on(w["reset"].click, logic.reset, CONTROLS, RESET_OUTPUTS, concurrency_id="render", **private)
    reset.then(None, [w[n] for n in CONTROLS], None, js=mirror)
    after_model(w.on(w["checkpoint"].input, load.on_checkpoint, CONTROLS, APPLY_OUTPUTS, **private))
    after_model(w.on(w["refresh"].click, load.refresh, CONTROLS, APPLY_OUTPUTS, **private))

    def pick(v: dict[str, Any], evt: gr.SelectData) -> dict[str, Any]:
        idx = int(evt.index if not isinstance(evt.index, (list, tuple)) else evt.index[0])
        return {"class_a" if v["strip_target"] == "class A" else "class_b": idx}

    picked = w.on_select(w["strip"].select, pick, ["strip_target"], ["class_a", "class_b"], **private)
    w.on(picked.then, logic.update, CONTROLS, ["image"], **hot)

    w.on(w["grid_btn"].click, logic.grid, ["grid_kind", "grid_cols", "grid_rows", *CONTROLS], ["grid"], **slow)
    for name in ("frames", "fps"):  # the export sliders set the hidden recipe controls
        w.on(w[f"export_{name}"].change, lambda v, name=name: {name: v[f"export_{name}"]}, [f"export_{name}"],
             [name], queue=False, **private)
    w.on(w["anim_btn"].click, logic.export_animation, ["export_format", "export_scale", *CONTROLS],
         ANIMATION_OUTPUTS, **slow)
    w.on(w["png_btn"].click, logic.export_png, CONTROLS, ["png_file"], **slow)
    for trigger in (w["show_btn"].click, w["recipe_tab"].select):
        shown = w.on(trigger, logic.export_recipe, CONTROLS, RECIPE_OUTPUTS, **private)
        shown.then(None, w["link_code"], w["link"], js=LINK_JS)
    after_model(w.on(w["upload"].upload, load.on_upload, ["upload"], APPLY_OUTPUTS, **private))
    after_model(w.on(w["paste_btn"].click, load.on_paste, ["paste"], APPLY_OUTPUTS, **private))
    after_model(w.on_request(demo.load, load.on_load, APPLY_OUTPUTS, **private))


def _skip_queue_analytics(demo: gr.Blocks) -> None:
    """Stop Gradio's queue from rebuilding a pandas summary of its last 10,000 events after every event.

    The summary only feeds the optional /monitoring page (not enabled here); on a slider that
    fires ~50 renders a second it costs CPU and GIL time that the next render needs.
    """
    q = getattr(demo, "_queue", None)
    if q is not None and hasattr(q, "ANAYLTICS_CACHE_FREQUENCY"):  # (sic) Gradio's spelling
        q.ANAYLTICS_CACHE_FREQUENCY = 10**12
    if q is not None and hasattr(q, "ANALYTICS_MAX_EVENTS"):
        q.ANALYTICS_MAX_EVENTS = 1000
