"""The Gradio panel: real-time latent exploration, classes, directions, grids, exports and recipes.

`build_panel(hub)` returns a `gr.Blocks`; `gradio_app.py` launches it alone and `ui/server.py`
mounts it into the Streamlit server at /gradio. Layout and wiring live here; what each event
does lives in `ui/panel_logic.py`, the recipe in `ui/recipe.py`.

Named API ("Use via API"; the tests and benchmarks call these):
    /render(checkpoint, seed, class_index, truncation) -> image
    /interpolate(checkpoint, seed_a, seed_b, t, mode, class_a, class_b) -> image
    /animate(checkpoint, seed_a, seed_b, frames, mode, class_a, class_b) -> GIF file
Every other event is private (not callable by API clients).

Queue: renders are serialised by the render service's lock, so more workers only contend for
it. Two concurrent slider/API renders let one image's PNG encoding and file write overlap the
next render; long jobs (GIF, grid, class strip, directions) run one at a time in their own
group and render frame by frame, so they never hold the generator for long and sliders stay
live while they run. `max_size` bounds the waiting line: at ~5 ms per render, 64 queued
events are ~0.3 s of work; more are refused with "queue full" instead of piling up.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from gan_core.latent import EASINGS, MAX_SEED

from . import panel_exports as ex
from . import recipe as rc
from .panel_logic import CONTROL_KEYS, PanelLogic, defaults

QUEUE = {"default_concurrency_limit": 2, "max_size": 64}
RENDER_LIMIT = 2  # concurrent hot-path events (see the module docstring)
CSS = """
#gs-image img, #gs-grid img, #gs-anim img, #gs-strip img { image-rendering: pixelated; }
#gs-image .image-container, #gs-image .image-container > button, #gs-image .image-frame,
#gs-grid .image-container, #gs-grid .image-container > button, #gs-grid .image-frame,
#gs-anim .image-container, #gs-anim .image-container > button, #gs-anim .image-frame
  { width: 100%; height: 100%; }
#gs-image .image-frame img, #gs-grid .image-frame img, #gs-anim .image-frame img
  { width: 100%; height: 100%; object-fit: contain; }
#gs-strip .grid-container { grid-template-columns: repeat(auto-fill, minmax(64px, 1fr)) !important; }
"""
LINK_JS = """(code) => {
  let loc = window.location;
  try { if (window.parent !== window && window.parent.location.href) loc = window.parent.location; } catch (e) {}
  return code ? loc.origin + loc.pathname + '?recipe=' + code : '';
}"""


def launch_options() -> dict[str, Any]:
    """Theme, CSS and footer for `launch()` / `mount_gradio_app()` (Gradio 6 takes them there)."""
    return {"theme": gr.themes.Soft(primary_hue="violet"), "css": CSS, "footer_links": ["api", "settings"],
            "show_error": True}


def build_panel(hub: Any = None) -> gr.Blocks:
    """The panel as a Blocks, rendering through `hub` (default: the process's render hub)."""
    if hub is None:
        from .services import hub as shared_hub

        hub = shared_hub()
    logic = PanelLogic(hub)
    d = defaults()
    c: dict[str, Any] = {}
    with gr.Blocks(title="GAN Studio · latent explorer", analytics_enabled=False,
                   delete_cache=(900, 3600)) as demo:
        with gr.Row(equal_height=True):
            # custom values allowed: the handlers validate every name and class themselves, and a
            # session whose server-side state was evicted must not fail on its own choices
            c["checkpoint"] = gr.Dropdown(label="Checkpoint", choices=[], value=None, scale=6,
                                          allow_custom_value=True, elem_id="gs-checkpoint")
            refresh = gr.Button("↻ Refresh list", scale=0, min_width=130)
        info = gr.Markdown(elem_id="gs-info")
        with gr.Row():
            with gr.Column(scale=5, min_width=340):
                with gr.Row():
                    with gr.Column(min_width=140):
                        c["seed_a"] = gr.Number(label="Seed A", value=d["seed_a"], precision=0, minimum=0,
                                                maximum=MAX_SEED, elem_id="gs-seed-a")
                        roll_a = gr.Button("Random seed A", size="sm")
                    with gr.Column(min_width=140):
                        c["seed_b"] = gr.Number(label="Seed B", value=d["seed_b"], precision=0, minimum=0,
                                                maximum=MAX_SEED, elem_id="gs-seed-b")
                        roll_b = gr.Button("Random seed B", size="sm")
                c["t"] = gr.Slider(0.0, 1.0, value=d["t"], step=0.001, label="t  (A → B → keyframes)",
                                   elem_id="gs-t")
                with gr.Row():
                    c["mode"] = gr.Radio(list(rc.MODES), value=d["mode"], label="Path", scale=1)
                    c["easing"] = gr.Dropdown(list(EASINGS), value=d["easing"], label="Easing", scale=1)
                c["keyframes"] = gr.Textbox(label="Keyframes after B", placeholder="e.g. 42, 7, 1999",
                                            info="More seeds: A → B → C → …; t runs along the whole path.")
                with gr.Group(visible=False) as classes:
                    with gr.Row():
                        c["class_a"] = gr.Dropdown(label="Class A", choices=[("-", -1)], value=-1,
                                                   allow_custom_value=True, elem_id="gs-class-a")
                        c["class_b"] = gr.Dropdown(label="Class B", choices=[("-", -1)], value=-1,
                                                   allow_custom_value=True, elem_id="gs-class-b")
                    c["mix"] = gr.Slider(0.0, 1.0, value=d["mix"], step=0.01, label="Class mix (A → B)",
                                         elem_id="gs-mix")
                    c["mix_follows_t"] = gr.Checkbox(value=d["mix_follows_t"],
                                                     label="Class mix follows t (A at t=0, B at t=1)")
                    strip_target = gr.Radio(["class A", "class B"], value="class A",
                                            label="Clicking a thumbnail sets")
                    strip = gr.Gallery(label="Every class at seed A (click to pick)", columns=8, height=250,
                                       format="png",
                                       allow_preview=False, object_fit="contain", elem_id="gs-strip",
                                       buttons=[])
                c["psi"] = gr.Slider(rc.PSI_RANGE[0], rc.PSI_RANGE[1], value=d["psi"], step=0.01,
                                     label="Truncation ψ (lower = more typical)", elem_id="gs-psi")
                with gr.Accordion("Latent directions (discovered, by variance)", open=False):
                    dirs = []
                    for i in range(rc.MAX_DIRECTIONS):
                        c[f"d{i}"] = gr.Slider(rc.DIRECTION_RANGE[0], rc.DIRECTION_RANGE[1], value=0.0,
                                               step=0.05, label=f"Direction {i + 1}", elem_id=f"gs-d{i}")
                        dirs.append(c[f"d{i}"])
                    reset = gr.Button("Reset ψ and directions", size="sm")
                c["frames"] = gr.Number(value=d["frames"], visible=False, precision=0)  # set on Export
                c["fps"] = gr.Number(value=d["fps"], visible=False, precision=0)
                c["directions_k"] = gr.Number(value=d["directions_k"], visible=False, precision=0)
            with gr.Column(scale=4, min_width=320):
                image = gr.Image(label="Image", type="pil", format="png", interactive=False, height=460,
                                 elem_id="gs-image", buttons=["download", "fullscreen"])
                gr.Markdown("The download button saves a PNG with its recipe inside; drop it on "
                            "*Recipe → Load* to get this exact image back.", elem_id="gs-hint")
        with gr.Tabs():
            with gr.Tab("Grid"):
                with gr.Row():
                    grid_kind = gr.Radio(["seeds", "one row per class"], value="seeds", label="Grid of")
                    grid_cols = gr.Slider(1, 16, value=8, step=1, label="Columns")
                    grid_rows = gr.Slider(1, 16, value=4, step=1, label="Rows (seeds grid)")
                grid_btn = gr.Button("Render grid", variant="primary")
                grid_img = gr.Image(label="Grid (from seed A on, current class, ψ and directions)",
                                    type="pil", format="png", interactive=False, height=560,
                                    elem_id="gs-grid")
            with gr.Tab("Export"):
                fmts = ["GIF", "MP4"] if ex.ffmpeg() else ["GIF"]
                with gr.Row():
                    frames = gr.Slider(rc.FRAMES_RANGE[0], rc.FRAMES_RANGE[1], value=d["frames"], step=1,
                                       label="Frames")
                    fps = gr.Slider(rc.FPS_RANGE[0], rc.FPS_RANGE[1], value=d["fps"], step=1, label="Frames per second")
                    scale = gr.Radio([1, 2, 4, 8], value=4, label="Pixel scale")
                    fmt = gr.Radio(fmts, value="GIF", label="Format")
                if len(fmts) == 1:
                    gr.Markdown("MP4 export appears when `ffmpeg` is installed on the server.")
                anim_btn = gr.Button("Make animation (t = 0 → 1)", variant="primary")
                with gr.Row():
                    anim_preview = gr.Image(label="Preview", type="filepath", interactive=False, height=320,
                                            elem_id="gs-anim")
                    anim_file = gr.File(label="Animation (recipe in the file)")
                png_btn = gr.Button("Export PNG of the current image (with recipe)")
                png_file = gr.File(label="PNG")
            with gr.Tab("Recipe") as recipe_tab:
                gr.Markdown("A recipe names one image exactly: checkpoint and weights hash, seeds, t, "
                            "classes, ψ and directions. Share the link, download the JSON, or load a "
                            "recipe, PNG or GIF export to reproduce an image bit for bit.")
                link = gr.Textbox(label="Link to this image", buttons=["copy"], interactive=False,
                                  elem_id="gs-link")
                link_code = gr.Textbox(visible=False)
                with gr.Row():
                    show_btn = gr.Button("Update recipe and link")
                    upload = gr.UploadButton("Load recipe / PNG / GIF", file_types=[".json", ".png", ".gif"],
                                             type="filepath")
                recipe_code = gr.Code(label="Recipe JSON", language="json", interactive=False,
                                      buttons=["copy"])
                recipe_file = gr.File(label="Recipe file")
                paste = gr.Textbox(label="Paste a recipe (JSON) or a link", lines=3)
                paste_btn = gr.Button("Apply pasted recipe")
        _named_api(logic)

        # ---- wiring ------------------------------------------------------------------------
        controls = [c[k] for k in CONTROL_KEYS]
        applied = controls + [classes, info, image]  # what PanelLogic.apply returns
        hot: dict[str, Any] = dict(trigger_mode="always_last", show_progress="hidden",
                                   concurrency_id="render", concurrency_limit=RENDER_LIMIT,
                                   api_visibility="private")
        slow: dict[str, Any] = dict(concurrency_id="slow", concurrency_limit=1, api_visibility="private")

        def after_model(event: Any) -> None:
            """After a recipe or model is applied: the export sliders show its frames/fps, then the
            thumbnails and direction labels follow (they take longer than one image)."""
            event.then(lambda f, p: (f, p), [c["frames"], c["fps"]], [frames, fps], queue=False,
                       api_visibility="private") \
                 .then(logic.strip, controls, strip, show_progress="hidden", **slow) \
                 .then(logic.direction_labels, controls, dirs, show_progress="hidden", **slow)

        for s in [c["t"], c["mix"], c["psi"], *dirs, c["seed_b"], c["mode"], c["easing"],
                  c["class_a"], c["class_b"], c["mix_follows_t"]]:
            s.input(logic.update, controls, image, **hot)
        c["keyframes"].submit(logic.update, controls, image, **hot)
        c["keyframes"].blur(logic.update, controls, image, **hot)
        c["seed_a"].input(logic.update, controls, image, **hot) \
            .then(logic.strip, controls, strip, show_progress="hidden", trigger_mode="always_last", **slow)
        roll_a.click(lambda *v: logic.roll("seed_a", *v), controls, [c["seed_a"], image],
                     api_visibility="private", concurrency_id="render") \
            .then(logic.strip, controls, strip, show_progress="hidden", **slow)
        roll_b.click(lambda *v: logic.roll("seed_b", *v), controls, [c["seed_b"], image],
                     api_visibility="private", concurrency_id="render")
        reset.click(logic.reset, controls, [c["psi"], *dirs, image], api_visibility="private",
                    concurrency_id="render")
        after_model(c["checkpoint"].input(logic.on_checkpoint, [c["checkpoint"], *controls], applied,
                                          api_visibility="private"))
        after_model(refresh.click(logic.refresh, controls, applied, api_visibility="private"))

        def pick(target: str, evt: gr.SelectData) -> tuple[Any, Any]:
            idx = int(evt.index if not isinstance(evt.index, (list, tuple)) else evt.index[0])
            return (idx, gr.update()) if target == "class A" else (gr.update(), idx)

        strip.select(pick, strip_target, [c["class_a"], c["class_b"]], api_visibility="private") \
            .then(logic.update, controls, image, **hot)

        grid_btn.click(logic.grid, [grid_kind, grid_cols, grid_rows, *controls], grid_img, **slow)
        # export settings live in hidden recipe controls so every recipe carries them
        frames.change(lambda v: v, frames, c["frames"], api_visibility="private", queue=False)
        fps.change(lambda v: v, fps, c["fps"], api_visibility="private", queue=False)
        anim_btn.click(logic.export_animation, [fmt, scale, *controls], [anim_file, anim_preview], **slow)
        png_btn.click(logic.export_png, controls, png_file, **slow)

        def show_recipe(event: Any) -> None:
            event.then(None, link_code, link, js=LINK_JS)

        show_recipe(show_btn.click(logic.export_recipe, controls, [recipe_code, recipe_file, link_code],
                                   api_visibility="private"))
        show_recipe(recipe_tab.select(logic.export_recipe, controls, [recipe_code, recipe_file, link_code],
                                      api_visibility="private"))
        after_model(upload.upload(logic.on_upload, upload, applied, api_visibility="private"))
        after_model(paste_btn.click(logic.on_paste, paste, applied, api_visibility="private"))
        after_model(demo.load(logic.on_load, None, applied, api_visibility="private"))
    demo.queue(**QUEUE)
    _skip_queue_analytics(demo)
    return demo


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


def _named_api(logic: PanelLogic) -> None:
    """Hidden components carrying the three public endpoints (shown under "Use via API")."""
    with gr.Column(visible=False):
        ck = gr.Textbox(label="checkpoint")
        seed = gr.Number(label="seed", precision=0)
        cls = gr.Number(label="class_index", value=-1, precision=0)
        psi = gr.Number(label="truncation", value=1.0)
        seed_a = gr.Number(label="seed_a", precision=0)
        seed_b = gr.Number(label="seed_b", precision=0)
        t = gr.Number(label="t", value=0.0)
        mode = gr.Textbox(label="mode", value="slerp")
        class_a = gr.Number(label="class_a", value=-1, precision=0)
        class_b = gr.Number(label="class_b", value=-1, precision=0)
        n_frames = gr.Number(label="frames", value=24, precision=0)
        out_image = gr.Image(label="image", type="pil", format="png", elem_id="gs-api-image")
        out_gif = gr.File(label="GIF")
        b_render, b_interp, b_anim = gr.Button("render"), gr.Button("interpolate"), gr.Button("animate")
    b_render.click(logic.api_render, [ck, seed, cls, psi], out_image, api_name="render",
                   concurrency_id="render", concurrency_limit=RENDER_LIMIT)
    b_interp.click(logic.api_interpolate, [ck, seed_a, seed_b, t, mode, class_a, class_b], out_image,
                   api_name="interpolate", concurrency_id="render", concurrency_limit=RENDER_LIMIT)
    b_anim.click(logic.api_animate, [ck, seed_a, seed_b, n_frames, mode, class_a, class_b], out_gif,
                 api_name="animate", concurrency_id="slow", concurrency_limit=1)
