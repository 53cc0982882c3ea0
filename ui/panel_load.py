"""Putting a recipe into the panel's controls: page load (?recipe= / ?checkpoint=), a new
checkpoint, an uploaded or pasted recipe, a refreshed checkpoint list.

Each handler returns updates keyed by component name: every recipe control (`CONTROLS`), the
class controls' group ("classes"), the model's one-line "info" and the "image" (APPLY_OUTPUTS).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import gradio as gr

from gan_core.explore import MAX_FILE, Recipe, RecipeError, from_bytes, from_json, from_url

from . import catalog
from .panel_logic import PanelLogic, Updates, Values, user_errors
from .recipe import CONTROLS, DIRECTION_CONTROLS, to_controls

APPLY_OUTPUTS = (*CONTROLS, "classes", "info", "image")
NO_CHECKPOINTS = ("No checkpoints yet. Train a run on the Train page and publish it, "
                  "or add checkpoints to the `checkpoints/` folder.")


class PanelLoad:
    """Recipe -> controls handlers, rendering through a PanelLogic."""

    def __init__(self, logic: PanelLogic):
        self.logic = logic

    # -- facts shown with a model --------------------------------------------------------------
    @staticmethod
    def choices() -> list[tuple[str, str]]:
        return [(e.label, e.name) for e in catalog.list_checkpoints()]

    @staticmethod
    def class_choices(svc: Any) -> list[tuple[str, int]]:
        if not svc.conditional:
            return [("none (unconditional model)", -1)]
        names = svc.cfg.class_names
        return [("from the seed (seed % classes)", -1)] + [(f"{i}: {n}" if n != str(i) else str(i), i)
                                                            for i, n in enumerate(names)]

    @staticmethod
    def info(svc: Any) -> str:
        c = svc.cfg
        cls = f"{c.num_classes} classes" if svc.conditional else "unconditional"
        return (f"**{svc.name}** · {c.arch.upper()} · {c.image_size} px · "
                f"{'RGB' if c.channels == 3 else 'greyscale'} · {cls} · z of {c.nz} · "
                f"weights `{svc.weights_hash}`")

    # -- applying ------------------------------------------------------------------------------
    def apply(self, r: Recipe, svc: Any, warn_hash: bool = True) -> Updates:
        """Updates for every name in APPLY_OUTPUTS: the recipe's controls, the class group, info, image."""
        r.check_model(svc.cfg.num_classes if svc.conditional else 0)
        if warn_hash and r.weights_hash and r.weights_hash != svc.weights_hash:
            gr.Warning(f"This recipe was made with other weights of {r.checkpoint!r} "
                       f"(hash {r.weights_hash}, now {svc.weights_hash}): the image will differ.")
        r = r.replace(weights_hash=svc.weights_hash)
        out: Updates = to_controls(r)
        cls = self.class_choices(svc)
        out["checkpoint"] = gr.update(choices=self.choices(), value=r.checkpoint)
        out["class_a"] = gr.update(choices=cls, value=r.class_a)
        out["class_b"] = gr.update(choices=cls, value=r.class_b)
        for i, name in enumerate(DIRECTION_CONTROLS):
            out[name] = gr.update(value=out[name], visible=i < r.directions_k)
        out.update(classes=gr.update(visible=svc.conditional), info=self.info(svc),
                   image=self.logic.still(r, svc))
        return out

    @staticmethod
    def empty(message: str) -> Updates:
        """Updates when there is nothing to show (no checkpoints yet): other controls keep their values."""
        return {"checkpoint": gr.update(choices=[], value=None), "classes": gr.update(visible=False),
                "info": message, "image": None}

    def apply_loaded(self, r: Recipe) -> Updates:
        names = [n for _, n in self.choices()]
        if r.checkpoint not in names:
            raise ValueError(f"the recipe's checkpoint {r.checkpoint!r} is not here "
                             f"(available: {', '.join(names) or 'none'})")
        return self.apply(r, self.logic.service(r.checkpoint))

    # -- events --------------------------------------------------------------------------------
    @user_errors
    def on_load(self, request: gr.Request | None) -> Updates:
        """Page load: fill the checkpoint list; apply ?recipe=... or ?checkpoint=... from the URL."""
        names = [n for _, n in self.choices()]
        if not names:
            return self.empty(NO_CHECKPOINTS)
        params = dict(request.query_params) if request is not None else {}
        r: Recipe | None = None
        if params.get("recipe"):
            try:
                r = from_url(params["recipe"])
                if r.checkpoint not in names:
                    gr.Warning(f"The link's checkpoint {r.checkpoint!r} is not here; showing {names[0]!r}.")
                    r = Recipe(checkpoint=names[0])
            except RecipeError as e:
                gr.Warning(f"Could not use the recipe in the link: {e}")
                r = None
        if r is None:
            wanted = params.get("checkpoint")
            r = Recipe(checkpoint=wanted if wanted in names else names[0])
        svc = self.logic.service(r.checkpoint)
        try:
            return self.apply(r, svc)
        except RecipeError as e:
            gr.Warning(f"Could not use the recipe in the link: {e}")
            return self.apply(Recipe(checkpoint=r.checkpoint), svc)

    @user_errors
    def on_checkpoint(self, v: Values) -> Updates:
        """A new checkpoint: keep seeds, t and psi; reset classes and directions (they differ per model)."""
        reset = {"class_a": -1, "class_b": -1, "mix": 0.0, **{name: 0.0 for name in DIRECTION_CONTROLS}}
        r, svc = self.logic.recipe(v, **reset)
        return self.apply(r, svc, warn_hash=False)

    @user_errors
    def on_upload(self, v: Values) -> Updates:
        """A recipe from an uploaded JSON, PNG or GIF export ("upload": its path)."""
        file = v.get("upload")
        if not file:
            raise ValueError("no file received")
        path = Path(file if isinstance(file, str) else getattr(file, "name", ""))
        if not path.is_file():
            raise ValueError("the upload did not arrive; try again")
        if path.stat().st_size > MAX_FILE:
            raise ValueError("the file is too large to hold a recipe")
        return self.apply_loaded(from_bytes(path.read_bytes()))

    @user_errors
    def on_paste(self, v: Values) -> Updates:
        """A recipe pasted as JSON text, or a link / ?recipe= code ("paste")."""
        text = (v.get("paste") or "").strip()
        if not text:
            raise ValueError("paste a recipe (JSON) or a link first")
        if text.startswith("{"):
            r = from_json(text)
        else:
            m = re.search(r"[?&]recipe=([A-Za-z0-9_=-]+)", text)
            r = from_url(m.group(1) if m else text)
        return self.apply_loaded(r)

    @user_errors
    def refresh(self, v: Values) -> Updates:
        """Re-read the catalogue (runs get published while the app runs); if the shown checkpoint
        is gone, switch to the first one."""
        choices = self.choices()
        names = [n for _, n in choices]
        current = v.get("checkpoint")
        if current in names or not names:
            return {"checkpoint": gr.update(choices=choices, value=current if current in names else None)}
        return self.on_checkpoint({**v, "checkpoint": names[0]})
