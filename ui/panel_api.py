"""The panel's named API ("Use via API"): one typed function per endpoint, one line to publish it.

    /render(checkpoint, seed, class_index=-1, truncation=1.0) -> image (PNG, recipe inside)
    /interpolate(checkpoint, seed_a, seed_b, t=0.0, mode="slerp", class_a=-1, class_b=-1) -> image
    /animate(checkpoint, seed_a, seed_b, frames=24, mode="slerp", class_a=-1, class_b=-1) -> GIF file

`publish(fn, api_name)` reads the function's typed parameters and return type. An endpoint
that answers with data (a dict, list, text or number) is Gradio 6's `gr.api(fn)`, which
derives its schema from the type hints and returns the value as JSON. `gr.api` does not turn
an image or a file into something a client can fetch, so for an `Image.Image` result (an
image output) or a `Path` result (a file output) each parameter becomes a hidden input named
after it instead. Every endpoint validates its input and answers mistakes with one readable line.
"""

from __future__ import annotations

import functools
import inspect
import typing
from pathlib import Path
from typing import Any, Callable

import gradio as gr
from PIL import Image

from gan_core.explore import Recipe, check_class, check_frames, check_mode, check_psi, check_seed, check_t

from . import panel_exports as ex
from .panel_logic import PanelLogic, user_errors

RENDER_LIMIT = 2  # concurrent renders (see ui/panel.py's docstring)


class PanelApi:
    """The endpoints' functions, rendering through a PanelLogic's services."""

    def __init__(self, logic: PanelLogic):
        self.logic = logic

    @user_errors
    def render(self, checkpoint: str, seed: int, class_index: int = -1, truncation: float = 1.0) -> Image.Image:
        """One image: seed, class (-1 = none, or seed % classes for class-conditional models), truncation psi."""
        seed = check_seed("seed", seed)
        truncation = check_psi("truncation", truncation)
        svc = self.logic.service(checkpoint)
        class_index = check_class("class_index", class_index, svc.cfg.num_classes)
        r = Recipe(checkpoint=checkpoint, weights_hash=svc.weights_hash, seed_a=seed, seed_b=seed,
                   class_a=class_index, class_b=class_index, psi=truncation)
        return self.logic.still(r, svc)

    @user_errors
    def interpolate(self, checkpoint: str, seed_a: int, seed_b: int, t: float = 0.0, mode: str = "slerp",
                    class_a: int = -1, class_b: int = -1) -> Image.Image:
        """The image at t between (seed_a, class_a) and (seed_b, class_b); t=0 is /render of seed_a, t=1 of seed_b."""
        t = check_t(t)
        r, svc = self._pair(checkpoint, seed_a, seed_b, mode, class_a, class_b, t=t)
        return self.logic.still(r, svc)

    @user_errors
    def animate(self, checkpoint: str, seed_a: int, seed_b: int, frames: int = 24, mode: str = "slerp",
                class_a: int = -1, class_b: int = -1) -> Path:
        """An animated GIF of the interpolation: `frames` frames from t=0 to t=1 (recipe in its comment)."""
        frames = check_frames(frames)
        r, svc = self._pair(checkpoint, seed_a, seed_b, mode, class_a, class_b, frames=frames)
        return ex.write_gif(list(self.logic.frames(r, svc)), r)

    def _pair(self, checkpoint: str, seed_a: int, seed_b: int, mode: str, class_a: int, class_b: int,
              **extra: Any) -> tuple[Recipe, Any]:
        seed_a, seed_b = check_seed("seed_a", seed_a), check_seed("seed_b", seed_b)
        mode = check_mode(mode)
        svc = self.logic.service(checkpoint)
        k = svc.cfg.num_classes
        class_a, class_b = check_class("class_a", class_a, k), check_class("class_b", class_b, k)
        r = Recipe(checkpoint=checkpoint, weights_hash=svc.weights_hash, seed_a=seed_a, seed_b=seed_b,
                   mode=mode, class_a=class_a, class_b=class_b, mix_follows_t=True, **extra)
        return r, svc


def _input(name: str, kind: Any, default: Any) -> gr.components.Component:
    value = None if default is inspect.Parameter.empty else default
    if kind is int:
        return gr.Number(label=name, value=value, precision=0)
    if kind is float:
        return gr.Number(label=name, value=value)
    if kind is str:
        return gr.Textbox(label=name, value=value)
    raise TypeError(f"no API input for parameter {name!r} of type {kind!r}")


def _output(kind: Any, label: str | None) -> gr.components.Component:
    if kind is Image.Image:
        return gr.Image(label=label or "image", type="pil", format="png")
    if kind is Path:
        return gr.File(label=label or "file")
    raise TypeError(f"no API output for return type {kind!r}")


def publish(fn: Callable[..., Any], api_name: str, *, slow: bool = False, label: str | None = None) -> None:
    """A public endpoint /api_name calling fn (inside a Blocks), typed by fn's hints: `gr.api` for
    data answers; for an Image.Image or Path answer, hidden inputs from fn's parameters (int,
    float, str) and an output named `label`. `slow` endpoints run one at a time beside the
    panel's long jobs; others share the renders' limit."""
    hints = typing.get_type_hints(fn)
    limits: dict[str, Any] = ({"concurrency_id": "slow", "concurrency_limit": 1} if slow
                              else {"concurrency_id": "render", "concurrency_limit": RENDER_LIMIT})
    if hints.get("return") not in (Image.Image, Path):
        gr.api(fn, api_name=api_name, **limits)
        return
    params = inspect.signature(fn).parameters
    with gr.Column(visible=False):
        inputs = [_input(name, hints.get(name), p.default) for name, p in params.items()]
        output = _output(hints.get("return"), label)
        button = gr.Button(api_name)
    if hints.get("return") is Path:  # gr.File takes a path as text
        fn = _path_as_text(fn)
    button.click(fn, inputs, output, api_name=api_name, **limits)


def _path_as_text(fn: Callable[..., Path]) -> Callable[..., str]:
    @functools.wraps(fn)  # keeps the signature: the API's parameter names come from it
    def inner(*args: Any, **kwargs: Any) -> str:
        return str(fn(*args, **kwargs))

    return inner


def named_api(logic: PanelLogic) -> PanelApi:
    """The panel's public endpoints (call inside its Blocks)."""
    api = PanelApi(logic)
    publish(api.render, "render")
    publish(api.interpolate, "interpolate")
    publish(api.animate, "animate", slow=True, label="GIF")
    return api
