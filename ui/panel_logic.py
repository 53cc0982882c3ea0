"""What the panel's events do, apart from the layout: control values by name -> Recipe -> pixels.

Every handler takes the values it reads as one mapping keyed by component name (the recipe
controls in `ui.recipe.CONTROLS`, plus e.g. "grid_kind") and returns updates keyed by the
names of the components it changes ("image", "seed_a", "d3", ...). `ui/panel.py` binds names
to components; nothing here depends on the layout's order. Images come from
`RenderService.render_recipe(s)`; user mistakes become `gr.Error` messages. Loading recipes
into the controls lives in `ui/panel_load.py`, the named API in `ui/panel_api.py`.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import time
from typing import Any, Callable, Mapping, TypeVar

import gradio as gr
import numpy as np
from PIL import Image

from gan_core.errors import GanStudioError
from gan_core.explore import PNG_KEY, Recipe, check_int
from gan_core.images import make_grid, to_pil
from gan_core.latent import MAX_SEED

from . import panel_exports as ex
from .recipe import DIRECTION_CONTROLS, from_controls
from .visibility import scrub

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
Values = Mapping[str, Any]  # component name -> the value the event received
Updates = dict[str, Any]  # component name -> its new value or gr.update(...)

MAX_GRID_CELLS = 320
MAX_STRIP = 64  # a thumbnail strip for models with at most this many classes
# what each handler writes (ui/panel.py wires these names as the events' outputs)
RESET_OUTPUTS = ("psi", *DIRECTION_CONTROLS, "image")
ANIMATION_OUTPUTS = ("anim_file", "anim_preview")
RECIPE_OUTPUTS = ("recipe_code", "recipe_file", "link_code")


def user_errors(fn: F) -> F:
    """Turn input problems into readable gr.Error messages (never a traceback in the page)."""

    @functools.wraps(fn)
    def inner(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except (ValueError, GanStudioError) as e:  # RecipeError is both
            raise gr.Error(scrub(str(e)), print_exception=False) from None
        except Exception as e:  # a bug: log it, show one line
            log.exception("panel handler %s failed", fn.__name__)
            raise gr.Error(scrub(f"unexpected error ({type(e).__name__}): {e}"), print_exception=False) from None

    return inner  # type: ignore[return-value]


class PanelLogic:
    """Handlers bound to one render hub (tests pass their own)."""

    RESOLVE_TTL_S = 1.0  # how long a name -> service lookup is reused on the hot path

    def __init__(self, hub: Any):
        self.hub = hub
        self._recent: dict[str, tuple[float, Any]] = {}

    # -- helpers -------------------------------------------------------------------------------
    def service(self, name: Any) -> Any:
        """The render service for a catalogue name (the catalogue refuses anything else).

        Resolving a name reads every checkpoint's config.json, so a slider dragged at 50 renders
        a second reuses the answer for RESOLVE_TTL_S (a checkpoint unpublished meanwhile is
        noticed a second later).
        """
        if not isinstance(name, str) or not name.strip():
            raise ValueError("choose a checkpoint first")
        hit = self._recent.get(name)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self.RESOLVE_TTL_S:
            return hit[1]
        try:
            svc = self.hub.get(name)
        except ValueError as e:
            raise ValueError(f"checkpoint {name!r} is not available: {e}") from None
        if len(self._recent) > 64:
            self._recent.clear()
        self._recent[name] = (now, svc)
        return svc

    def recipe(self, values: Values, **changes: Any) -> tuple[Recipe, Any]:
        """Control values by name (with some changed) -> (validated recipe for its model, the model's service)."""
        v = {**values, **changes}
        svc = self.service(v.get("checkpoint"))
        r = from_controls(v, svc.weights_hash)
        return r.check_model(svc.cfg.num_classes if svc.conditional else 0), svc

    @staticmethod
    def pil(image: np.ndarray, recipe: Recipe | None = None) -> Image.Image:
        """A PIL image; with a recipe, Gradio's PNG of it carries the recipe as a text chunk."""
        im = to_pil(image)
        if recipe is not None:
            im.info[PNG_KEY] = recipe.to_json()
        return im

    def still(self, r: Recipe, svc: Any) -> Image.Image:
        return self.pil(svc.render_recipe(r), r)

    @staticmethod
    def frames(r: Recipe, svc: Any) -> np.ndarray:
        """(frames, H, W, C): one image per frame, each rendered alone (frame i is exactly the still at its t)."""
        return svc.render_recipes(r.animation(), batch=1)

    # -- the image ---------------------------------------------------------------------------
    @user_errors
    def update(self, v: Values) -> Updates:
        """The hot path: controls -> image."""
        r, svc = self.recipe(v)
        return {"image": self.still(r, svc)}

    @user_errors
    def roll(self, which: str, v: Values) -> Updates:
        """A random seed for control `which` ("seed_a" or "seed_b"), and its image."""
        if which not in ("seed_a", "seed_b"):
            raise ValueError(f"cannot roll {which!r}")
        seed = random.randrange(MAX_SEED + 1)
        r, svc = self.recipe(v, **{which: seed})
        return {which: seed, "image": self.still(r, svc)}

    @user_errors
    def reset(self, v: Values) -> Updates:
        """psi back to 1 and every direction to 0."""
        back = {"psi": 1.0, **{name: 0.0 for name in DIRECTION_CONTROLS}}
        r, svc = self.recipe(v, **back)
        return {**back, "image": self.still(r, svc)}

    # -- batches -------------------------------------------------------------------------------
    @user_errors
    def grid(self, v: Values) -> Updates:
        """A grid from the current recipe ("grid_kind", "grid_cols", "grid_rows"): N seeds from
        seed A on, or one row per class."""
        r, svc = self.recipe(v)
        columns = check_int("columns", v["grid_cols"], 1, 32)
        rows = check_int("rows", v["grid_rows"], 1, 32)
        base = r.replace(t=0.0, keyframes=(), mix_follows_t=False)
        if v["grid_kind"] == "one row per class":
            if not svc.conditional:
                raise ValueError("this model has no classes: use the seeds grid")
            rows = svc.cfg.num_classes
            cells = [base.replace(seed_a=(r.seed_a + j) % (MAX_SEED + 1), class_a=c, mix=0.0)
                     for c in range(rows) for j in range(columns)]
        else:
            cells = [base.replace(seed_a=(r.seed_a + i) % (MAX_SEED + 1)) for i in range(rows * columns)]
        if len(cells) > MAX_GRID_CELLS:
            raise ValueError(f"a grid holds at most {MAX_GRID_CELLS} images; got {len(cells)}: fewer columns")
        return {"grid": self.pil(make_grid(svc.render_recipes(cells), nrow=columns, padding=2))}

    @user_errors
    def strip(self, v: Values) -> Updates:
        """Thumbnails of every class at seed A (ACGAN): click one to pick it."""
        hidden = {"strip": gr.update(value=None, visible=False)}
        if not v.get("checkpoint"):  # nothing picked yet (an empty catalogue): nothing to show
            return hidden
        r, svc = self.recipe(v)
        if not svc.conditional or svc.cfg.num_classes > MAX_STRIP:
            return hidden
        names = svc.cfg.class_names
        cells = [r.replace(t=0.0, keyframes=(), class_a=c, mix=0.0, mix_follows_t=False)
                 for c in range(svc.cfg.num_classes)]
        images = svc.render_recipes(cells)
        return {"strip": gr.update(value=[(self.pil(im), str(c) if names[c] == str(c) else f"{c}: {names[c]}")
                                          for c, im in enumerate(images)], visible=True)}

    @user_errors
    def direction_labels(self, v: Values) -> Updates:
        """Slider labels with the variance each discovered direction explains (computed once per model)."""
        if not v.get("checkpoint"):
            return {}
        r, svc = self.recipe(v)
        d = svc.directions(r.directions_k)
        out: Updates = {}
        for i, name in enumerate(DIRECTION_CONTROLS):
            if i < len(d.variance):
                out[name] = gr.update(label=f"Direction {i + 1} ({100 * float(d.variance[i]):.1f}% of variance)",
                                      visible=True)
            else:
                out[name] = gr.update(visible=False)
        return out

    # -- in-browser rendering -------------------------------------------------------------------
    def browser(self, v: Values) -> Updates:
        """"browser_on" and the recipe controls -> "browser_data": what the page needs to render
        itself (ui/browser/payload.py), as JSON; problems come back inside it as a message."""
        from .browser import payload

        try:
            data = payload.build(self, v)
        except Exception as e:  # a bug: log it; the page says so and keeps the server's renders
            log.exception("in-browser payload failed")
            data = payload.off(f"unexpected error ({type(e).__name__}): rendering on the server instead")
        return {"browser_data": json.dumps(data)}

    def browser_switched(self, v: Values) -> Updates:
        """The checkbox changed: the payload, and when switched off, the server's image of the
        current controls (the sliders may have moved while the page rendered)."""
        out = self.browser(v)
        if not v.get("browser_on") and v.get("checkpoint"):
            try:
                r, svc = self.recipe(v)
                out["image"] = self.still(r, svc)
            except (ValueError, GanStudioError):
                pass  # the image stays; the next slider move shows the problem
        return out

    # -- exports -------------------------------------------------------------------------------
    @user_errors
    def export_animation(self, v: Values) -> Updates:
        """The animation t = 0 -> 1 as "export_format" (GIF or MP4) at "export_scale"; a GIF is also previewed."""
        r, svc = self.recipe(v)
        frames = list(self.frames(r, svc))
        scale = int(v["export_scale"])
        if v["export_format"] == "MP4":
            return {"anim_file": str(ex.write_mp4(frames, r, scale)), "anim_preview": None}
        path = str(ex.write_gif(frames, r, scale))
        return {"anim_file": path, "anim_preview": path}

    @user_errors
    def export_png(self, v: Values) -> Updates:
        r, svc = self.recipe(v)
        return {"png_file": str(ex.write_png(svc.render_recipe(r), r))}

    @user_errors
    def export_recipe(self, v: Values) -> Updates:
        """The pretty JSON, a .json file to download, and the ?recipe= code for a link."""
        r, _ = self.recipe(v)
        return {"recipe_code": r.to_json(indent=2), "recipe_file": str(ex.write_json(r)), "link_code": r.to_url()}
