"""What the panel's events do, apart from the layout: control values -> recipe -> pixels.

Every handler takes plain values (as Gradio passes them), validates them into a `Recipe`,
renders through the render hub, and turns user mistakes into `gr.Error` messages. The named
API endpoints (/render, /interpolate, /animate) live here too, with the parameter names the
API shows.
"""

from __future__ import annotations

import functools
import logging
import random
import re
import time
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

import gradio as gr
import numpy as np
from PIL import Image

from gan_core.errors import GanStudioError
from gan_core.images import make_grid, to_pil
from gan_core.latent import EASINGS, MAX_SEED

from . import catalog
from . import panel_exports as ex
from . import recipe as rc

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

# the order in which the panel passes its recipe controls to every handler
CONTROL_KEYS: tuple[str, ...] = (
    "checkpoint", "seed_a", "seed_b", "keyframes", "t", "mode", "easing", "class_a", "class_b",
    "mix", "mix_follows_t", "psi", "frames", "fps", "directions_k",
    *(f"d{i}" for i in range(rc.MAX_DIRECTIONS)),
)
N_CONTROLS = len(CONTROL_KEYS)
MAX_GRID_CELLS = 320
MAX_STRIP = 64  # a thumbnail strip for models with at most this many classes
CHUNK = 32  # images per batched render (lets slider renders interleave with long jobs)


def user_errors(fn: F) -> F:
    """Turn input problems into readable gr.Error messages (never a traceback in the page)."""

    @functools.wraps(fn)
    def inner(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except (ValueError, GanStudioError) as e:  # RecipeError is a ValueError
            raise gr.Error(str(e), print_exception=False) from None
        except Exception as e:  # a bug: log it, show one line
            log.exception("panel handler %s failed", fn.__name__)
            raise gr.Error(f"unexpected error ({type(e).__name__}): {e}", print_exception=False) from None

    return inner  # type: ignore[return-value]


def parse_keyframes(text: Any) -> tuple[int, ...]:
    """'17, 256 9' -> (17, 256, 9); seeds after A and B."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return ()
    if isinstance(text, (list, tuple)):
        parts = list(text)
    else:
        parts = [p for p in re.split(r"[\s,;]+", str(text).strip()) if p]
    if len(parts) > rc.MAX_KEYFRAMES:
        raise rc.RecipeError(f"keyframes: at most {rc.MAX_KEYFRAMES} seeds after A and B")
    out = []
    for p in parts:
        try:
            out.append(rc.check_seed("keyframe", int(p)))
        except (TypeError, ValueError):
            raise rc.RecipeError(f"keyframes: {str(p)[:20]!r} is not a seed (whole numbers "
                                 f"0..{MAX_SEED}, separated by commas)") from None
    return tuple(out)


def _cls(v: Any) -> Any:
    """A class control's value: None/'' -> -1, digit strings (typed into the dropdown) -> int."""
    if v is None or v == "":
        return -1
    if isinstance(v, str) and re.fullmatch(r"-?\d{1,7}", v.strip()):
        return int(v)
    return v


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

    def recipe(self, values: Sequence[Any], **changes: Any) -> tuple[rc.Recipe, Any]:
        """Control values (CONTROL_KEYS order) -> (validated recipe, its service)."""
        if len(values) != N_CONTROLS:
            raise ValueError(f"expected {N_CONTROLS} control values, got {len(values)}")
        v = dict(zip(CONTROL_KEYS, values))
        v.update(changes)
        svc = self.service(v["checkpoint"])
        k = v["directions_k"] or rc.MAX_DIRECTIONS
        r = rc.Recipe(
            checkpoint=v["checkpoint"], weights_hash=svc.weights_hash, seed_a=v["seed_a"],
            seed_b=v["seed_b"], keyframes=parse_keyframes(v["keyframes"]), t=v["t"],
            mode=v["mode"], easing=v["easing"], class_a=_cls(v["class_a"]), class_b=_cls(v["class_b"]),
            mix=v["mix"], mix_follows_t=bool(v["mix_follows_t"]), psi=v["psi"],
            frames=v["frames"], fps=v["fps"], directions_k=k,
            directions=[v[f"d{i}"] or 0.0 for i in range(min(int(k), rc.MAX_DIRECTIONS))],
        )
        rc.check_model(r, svc.cfg.num_classes if svc.conditional else 0)
        return r, svc

    @staticmethod
    def pil(image: np.ndarray, recipe: rc.Recipe | None = None) -> Image.Image:
        """A PIL image; with a recipe, Gradio's PNG of it carries the recipe as a text chunk."""
        im = to_pil(image)
        if recipe is not None:
            im.info[rc.PNG_KEY] = recipe.to_json()
        return im

    def still(self, r: rc.Recipe, svc: Any) -> Image.Image:
        return self.pil(rc.render(r, svc), r)

    # -- named API -----------------------------------------------------------------------------
    @user_errors
    def api_render(self, checkpoint: str, seed: int, class_index: int, truncation: float) -> Image.Image:
        """One image: seed, class (-1 = none, or seed % classes for class-conditional models), truncation psi."""
        seed = rc.check_seed("seed", seed)
        truncation = rc.check_psi("truncation", truncation)
        svc = self.service(checkpoint)
        class_index = rc.check_class("class_index", class_index, svc.cfg.num_classes)
        r = rc.Recipe(checkpoint=checkpoint, weights_hash=svc.weights_hash, seed_a=seed, seed_b=seed,
                      class_a=class_index, class_b=class_index, psi=truncation)
        return self.still(r, svc)

    def _pair(self, checkpoint: str, seed_a: int, seed_b: int, mode: str, class_a: int,
              class_b: int, **extra: Any) -> tuple[rc.Recipe, Any]:
        seed_a, seed_b = rc.check_seed("seed_a", seed_a), rc.check_seed("seed_b", seed_b)
        mode = rc.check_mode(mode)
        svc = self.service(checkpoint)
        k = svc.cfg.num_classes
        class_a, class_b = rc.check_class("class_a", class_a, k), rc.check_class("class_b", class_b, k)
        r = rc.Recipe(checkpoint=checkpoint, weights_hash=svc.weights_hash, seed_a=seed_a,
                      seed_b=seed_b, mode=mode, class_a=class_a, class_b=class_b,
                      mix_follows_t=True, **extra)
        return r, svc

    @user_errors
    def api_interpolate(self, checkpoint: str, seed_a: int, seed_b: int, t: float, mode: str,
                        class_a: int, class_b: int) -> Image.Image:
        """The image at t between (seed_a, class_a) and (seed_b, class_b); t=0 is /render of seed_a, t=1 of seed_b."""
        t = rc.check_t(t)
        r, svc = self._pair(checkpoint, seed_a, seed_b, mode, class_a, class_b, t=t)
        return self.still(r, svc)

    @user_errors
    def api_animate(self, checkpoint: str, seed_a: int, seed_b: int, frames: int, mode: str,
                    class_a: int, class_b: int) -> str:
        """An animated GIF of the interpolation: `frames` frames from t=0 to t=1 (recipe in its comment)."""
        frames = rc.check_frames(frames)
        r, svc = self._pair(checkpoint, seed_a, seed_b, mode, class_a, class_b, frames=frames)
        return str(ex.write_gif(self.frames(r, svc), r))

    # -- panel events --------------------------------------------------------------------------
    def frames(self, r: rc.Recipe, svc: Any) -> list[np.ndarray]:
        """One image per frame, each rendered alone (so frame i is exactly the still at its t)."""
        return [rc.render(fr, svc) for fr in rc.animation_recipes(r)]

    @user_errors
    def update(self, *values: Any) -> Image.Image:
        """The hot path: controls -> image."""
        r, svc = self.recipe(values)
        return self.still(r, svc)

    @user_errors
    def roll(self, which: str, *values: Any) -> tuple[int, Image.Image]:
        seed = random.randrange(MAX_SEED + 1)
        r, svc = self.recipe(values, **{which: seed})
        return seed, self.still(r, svc)

    @user_errors
    def reset(self, *values: Any) -> list[Any]:
        """psi back to 1 and every direction to 0."""
        r, svc = self.recipe(values, psi=1.0, **{f"d{i}": 0.0 for i in range(rc.MAX_DIRECTIONS)})
        return [1.0, *([0.0] * rc.MAX_DIRECTIONS), self.still(r, svc)]

    @user_errors
    def grid(self, kind: str, columns: int, rows: int, *values: Any) -> Image.Image:
        """A grid from the current recipe: N seeds (from seed A on), or one row per class."""
        r, svc = self.recipe(values)
        columns = rc.check_int("columns", columns, 1, 32)
        rows = rc.check_int("rows", rows, 1, 32)
        base = r.replace(t=0.0, keyframes=(), mix_follows_t=False)
        if kind == "one row per class":
            if not svc.conditional:
                raise ValueError("this model has no classes: use the seeds grid")
            rows = svc.cfg.num_classes
            cells = [base.replace(seed_a=(r.seed_a + j) % (MAX_SEED + 1), class_a=c, mix=0.0)
                     for c in range(rows) for j in range(columns)]
        else:
            cells = [base.replace(seed_a=(r.seed_a + i) % (MAX_SEED + 1)) for i in range(rows * columns)]
        if len(cells) > MAX_GRID_CELLS:
            raise ValueError(f"a grid holds at most {MAX_GRID_CELLS} images; got {len(cells)}: fewer columns")
        images = self.render_many(cells, svc)
        return self.pil(make_grid(images, nrow=columns, padding=2))

    def render_many(self, recipes: Sequence[rc.Recipe], svc: Any) -> np.ndarray:
        """Batched renders in chunks (for grids and strips; a batch may differ from a lone render by 1 level)."""
        lats = [rc.latent(x, svc) for x in recipes]
        out = []
        for i in range(0, len(lats), CHUNK):
            part = lats[i:i + CHUNK]
            z = np.stack([x.z for x in part])
            if not svc.conditional:
                out.append(svc.render_z(z))
            elif all(x.embedding is None for x in part):
                out.append(svc.render_z(z, [x.label for x in part]))
            else:
                emb = np.stack([x.embedding if x.embedding is not None else svc.class_embedding(x.label)
                                for x in part])
                out.append(svc.render_z(z, class_embedding=emb))
        return np.concatenate(out)

    @user_errors
    def strip(self, *values: Any) -> Any:
        """Thumbnails of every class at seed A (ACGAN): click one to pick it."""
        if not values or not values[0]:  # nothing picked yet (an empty catalogue): nothing to show
            return gr.update(value=None, visible=False)
        r, svc = self.recipe(values)
        if not svc.conditional or svc.cfg.num_classes > MAX_STRIP:
            return gr.update(value=None, visible=False)
        names = svc.cfg.class_names
        cells = [r.replace(t=0.0, keyframes=(), class_a=c, mix=0.0, mix_follows_t=False)
                 for c in range(svc.cfg.num_classes)]
        images = self.render_many(cells, svc)
        return gr.update(value=[(self.pil(im), str(c) if names[c] == str(c) else f"{c}: {names[c]}")
                                for c, im in enumerate(images)],
                         visible=True)

    @user_errors
    def direction_labels(self, *values: Any) -> list[Any]:
        """Slider labels with the variance each discovered direction explains (computed once per model)."""
        if not values or not values[0]:
            return [gr.update() for _ in range(rc.MAX_DIRECTIONS)]
        r, svc = self.recipe(values)
        d = svc.directions(r.directions_k)
        out = []
        for i in range(rc.MAX_DIRECTIONS):
            if i < len(d.variance):
                out.append(gr.update(label=f"Direction {i + 1} ({100 * float(d.variance[i]):.1f}% of variance)",
                                     visible=True))
            else:
                out.append(gr.update(visible=False))
        return out

    @user_errors
    def export_animation(self, fmt: str, scale: int, *values: Any) -> tuple[str, str | None]:
        r, svc = self.recipe(values)
        frames = self.frames(r, svc)
        scale = int(scale)
        if fmt == "MP4":
            path = ex.write_mp4(frames, r, scale)
            return str(path), None
        path = ex.write_gif(frames, r, scale)
        return str(path), str(path)

    @user_errors
    def export_png(self, *values: Any) -> str:
        r, svc = self.recipe(values)
        return str(ex.write_png(rc.render(r, svc), r))

    @user_errors
    def export_recipe(self, *values: Any) -> tuple[str, str, str]:
        """(pretty JSON, a .json file to download, the ?recipe= code for a link)."""
        r, _ = self.recipe(values)
        return r.to_json(indent=2), str(ex.write_json(r)), r.to_url()

    # -- loading recipes into the controls ------------------------------------------------------
    def choices(self) -> list[tuple[str, str]]:
        return [(e.label, e.name) for e in catalog.list_checkpoints()]

    def class_choices(self, svc: Any) -> list[tuple[str, int]]:
        if not svc.conditional:
            return [("none (unconditional model)", -1)]
        names = svc.cfg.class_names
        return [("from the seed (seed % classes)", -1)] + [(f"{i}: {n}" if n != str(i) else str(i), i)
                                                            for i, n in enumerate(names)]

    def info(self, svc: Any) -> str:
        c = svc.cfg
        cls = f"{c.num_classes} classes" if svc.conditional else "unconditional"
        return (f"**{svc.name}** · {c.arch.upper()} · {c.image_size} px · "
                f"{'RGB' if c.channels == 3 else 'greyscale'} · {cls} · z of {c.nz} · "
                f"weights `{svc.weights_hash}`")

    def apply(self, r: rc.Recipe, svc: Any, warn_hash: bool = True) -> list[Any]:
        """Updates for every control (CONTROL_KEYS order), then class group, info, image."""
        rc.check_model(r, svc.cfg.num_classes if svc.conditional else 0)
        if warn_hash and r.weights_hash and r.weights_hash != svc.weights_hash:
            gr.Warning(f"This recipe was made with other weights of {r.checkpoint!r} "
                       f"(hash {r.weights_hash}, now {svc.weights_hash}): the image will differ.")
        r = r.replace(weights_hash=svc.weights_hash)
        cls = self.class_choices(svc)
        dirs = list(r.directions) + [0.0] * rc.MAX_DIRECTIONS
        updates = [
            gr.update(choices=self.choices(), value=r.checkpoint), r.seed_a, r.seed_b,
            ", ".join(map(str, r.keyframes)), r.t, r.mode, r.easing,
            gr.update(choices=cls, value=r.class_a), gr.update(choices=cls, value=r.class_b),
            r.mix, r.mix_follows_t, r.psi, r.frames, r.fps, r.directions_k,
            *[gr.update(value=dirs[i], visible=i < r.directions_k) for i in range(rc.MAX_DIRECTIONS)],
        ]
        return updates + [gr.update(visible=svc.conditional), self.info(svc), self.still(r, svc)]

    def empty(self, message: str) -> list[Any]:
        """Updates when there is nothing to show (no checkpoints yet)."""
        return ([gr.update(choices=[], value=None)] + [gr.update() for _ in CONTROL_KEYS[1:]]
                + [gr.update(visible=False), message, None])

    @user_errors
    def on_load(self, request: gr.Request) -> list[Any]:
        """Page load: fill the checkpoint list; apply ?recipe=... or ?checkpoint=... from the URL."""
        names = [n for _, n in self.choices()]
        if not names:
            return self.empty("No checkpoints yet. Train a run on the Train page and publish it, "
                              "or add checkpoints to the `checkpoints/` folder.")
        params = dict(request.query_params) if request is not None else {}
        r: rc.Recipe | None = None
        if params.get("recipe"):
            try:
                r = rc.from_url(params["recipe"])
                if r.checkpoint not in names:
                    gr.Warning(f"The link's checkpoint {r.checkpoint!r} is not here; showing {names[0]!r}.")
                    r = rc.Recipe(checkpoint=names[0])
            except rc.RecipeError as e:
                gr.Warning(f"Could not use the recipe in the link: {e}")
                r = None
        if r is None:
            wanted = params.get("checkpoint")
            r = rc.Recipe(checkpoint=wanted if wanted in names else names[0])
        svc = self.service(r.checkpoint)
        try:
            return self.apply(r, svc)
        except rc.RecipeError as e:
            gr.Warning(f"Could not use the recipe in the link: {e}")
            return self.apply(rc.Recipe(checkpoint=r.checkpoint), svc)

    @user_errors
    def on_checkpoint(self, name: str, *values: Any) -> list[Any]:
        """A new checkpoint: keep seeds, t and psi; reset classes and directions (they differ per model)."""
        svc = self.service(name)
        vals = list(values)
        vals[0] = name
        reset = {"class_a": -1, "class_b": -1, "mix": 0.0, **{f"d{i}": 0.0 for i in range(rc.MAX_DIRECTIONS)}}
        r, _ = self.recipe(vals, **reset)
        return self.apply(r, svc, warn_hash=False)

    @user_errors
    def on_upload(self, file: Any) -> list[Any]:
        """A recipe from an uploaded JSON, PNG or GIF export."""
        if not file:
            raise ValueError("no file received")
        path = Path(file if isinstance(file, str) else getattr(file, "name", ""))
        if not path.is_file():
            raise ValueError("the upload did not arrive; try again")
        if path.stat().st_size > rc.MAX_FILE:
            raise ValueError("the file is too large to hold a recipe")
        return self.apply_loaded(rc.from_bytes(path.read_bytes()))

    @user_errors
    def on_paste(self, text: str) -> list[Any]:
        """A recipe pasted as JSON text, or a link / ?recipe= code."""
        text = (text or "").strip()
        if not text:
            raise ValueError("paste a recipe (JSON) or a link first")
        if text.startswith("{"):
            r = rc.from_json(text)
        else:
            m = re.search(r"[?&]recipe=([A-Za-z0-9_=-]+)", text)
            r = rc.from_url(m.group(1) if m else text)
        return self.apply_loaded(r)

    def apply_loaded(self, r: rc.Recipe) -> list[Any]:
        names = [n for _, n in self.choices()]
        if r.checkpoint not in names:
            raise ValueError(f"the recipe's checkpoint {r.checkpoint!r} is not here "
                             f"(available: {', '.join(names) or 'none'})")
        return self.apply(r, self.service(r.checkpoint))

    @user_errors
    def refresh(self, *values: Any) -> list[Any]:
        """Re-read the catalogue (runs get published while the app runs); if the shown checkpoint
        is gone, switch to the first one."""
        choices = self.choices()
        names = [n for _, n in choices]
        current = values[0] if values else None
        if current in names or not names:
            return ([gr.update(choices=choices, value=current if current in names else None)]
                    + [gr.update() for _ in range(N_CONTROLS - 1 + 3)])
        return self.on_checkpoint(names[0], *values)


def defaults() -> dict[str, Any]:
    """Initial control values (before the page's load event fills them)."""
    return {"seed_a": 0, "seed_b": 1, "keyframes": "", "t": 0.0, "mode": "slerp", "easing": "linear",
            "class_a": -1, "class_b": -1, "mix": 0.0, "mix_follows_t": False, "psi": 1.0,
            "frames": 48, "fps": 24, "directions_k": rc.MAX_DIRECTIONS, "easings": EASINGS}
