"""The recipe: plain, validated data that names one image of the explorer exactly.

A recipe holds a checkpoint name and its weights hash, the seeds of a path through latent
space (A, B and optional keyframes), the position t along it with its interpolation mode and
easing, the classes and their mix, the truncation psi, offsets along discovered latent
directions, and the animation export's frames and fps. Building a `Recipe` validates every
field (numbers range-checked, direction values clamped, the name checked) and raises a
`RecipeError` naming the field; nothing here touches torch or a file.

A recipe writes itself as JSON or a link code; `codec.py` reads those back and handles the
PNG/GIF exports that carry one; `inputs.py` turns a recipe into generator inputs;
`RenderService.render_recipe` turns it into pixels.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

from ..errors import ConfigError
from ..latent import EASINGS, MAX_SEED, MODES
from ..locations import is_safe_name

VERSION = 1  # written into every recipe; see codec.MIGRATIONS for reading older ones
PSI_RANGE = (0.05, 2.0)
DIRECTION_RANGE = (-5.0, 5.0)
MAX_DIRECTIONS = 8  # sliders the panel shows; recipes may use 1..MAX_DIRECTIONS
FRAMES_RANGE = (2, 240)
FPS_RANGE = (1, 50)
MAX_KEYFRAMES = 16  # seeds after A and B
MAX_CLASS = 1_000_000  # a sanity bound before the model's own class count is known


class RecipeError(ConfigError, ValueError):
    """A recipe (or one of its values) is invalid; the message names the field."""


@dataclass(frozen=True)
class Recipe:
    checkpoint: str
    weights_hash: str = ""
    seed_a: int = 0
    seed_b: int = 1
    keyframes: tuple[int, ...] = ()  # more seeds after B: A -> B -> C -> ...
    t: float = 0.0  # position along the whole path, 0 = seed A, 1 = the last seed
    mode: str = "slerp"
    easing: str = "linear"
    class_a: int = -1  # -1: none (unconditional) or the seed's class (conditional, latent.seed_class)
    class_b: int = -1  # both -1: the class follows the seeds along the path
    mix: float = 0.0  # 0 = class A, 1 = class B
    mix_follows_t: bool = False  # the class blend moves with t (class A at t=0, B at t=1)
    psi: float = 1.0
    directions_k: int = MAX_DIRECTIONS
    directions: tuple[float, ...] = ()  # offsets along the top-k discovered directions
    frames: int = 48  # animation export
    fps: int = 24
    version: int = VERSION

    def __post_init__(self) -> None:
        _check(self)

    # -- writing (codec.py reads) ----------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON object of a recipe (directions nested as {"k": .., "values": [..]})."""
        return {
            "version": self.version, "checkpoint": self.checkpoint, "weights_hash": self.weights_hash,
            "seed_a": self.seed_a, "seed_b": self.seed_b, "keyframes": list(self.keyframes), "t": self.t,
            "mode": self.mode, "easing": self.easing, "class_a": self.class_a, "class_b": self.class_b,
            "mix": self.mix, "mix_follows_t": self.mix_follows_t, "psi": self.psi,
            "directions": {"k": self.directions_k, "values": list(self.directions)},
            "frames": self.frames, "fps": self.fps,
        }

    def to_json(self, indent: int | None = None) -> str:
        """JSON text; floats are written with Python's shortest exact repr, so they read back bit for bit."""
        seps = (",", ":") if indent is None else (",", ": ")
        return json.dumps(self.to_dict(), indent=indent, separators=seps)

    def to_url(self) -> str:
        """The value of `?recipe=` in a page URL: urlsafe base64 of the compact JSON, unpadded.

        Fields at their default values are left out to keep links short (they read back as defaults).
        """
        base = Recipe(checkpoint=self.checkpoint).to_dict()
        d = {k: v for k, v in self.to_dict().items() if k in ("version", "checkpoint") or v != base[k]}
        text = json.dumps(d, separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")

    def replace(self, **changes: Any) -> "Recipe":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @property
    def path_seeds(self) -> tuple[int, ...]:
        """Every seed of the path in order: A, B, then the keyframes."""
        return (self.seed_a, self.seed_b, *self.keyframes)

    def check_model(self, num_classes: int) -> "Recipe":
        """Refuse class indices a model with `num_classes` classes (0: unconditional) cannot render."""
        check_class("class_a", self.class_a, num_classes)
        check_class("class_b", self.class_b, num_classes)
        return self

    def animation(self, frames: int | None = None) -> list["Recipe"]:
        """One recipe per frame, t = 0 .. 1 evenly (frame i is the still image at t = i / (n - 1))."""
        n = check_frames(self.frames if frames is None else frames)
        return [self.replace(t=i / (n - 1)) for i in range(n)]


# -- single values (also used by the named API for its parameters) ------------------------------
def check_int(name: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise RecipeError(f"{name} must be a whole number, got {value!r}")
    if isinstance(value, (float, np.floating)) and (not math.isfinite(value) or value != int(value)):
        raise RecipeError(f"{name} must be a whole number, got {value!r}")
    v = int(value)
    if not lo <= v <= hi:
        raise RecipeError(f"{name} must be between {lo} and {hi}, got {v}")
    return v


def check_float(name: str, value: Any, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise RecipeError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise RecipeError(f"{name} must be a finite number, got {value!r}")
    if not lo <= v <= hi:
        raise RecipeError(f"{name} must be between {lo:g} and {hi:g}, got {v:g}")
    return v


def check_seed(name: str, value: Any) -> int:
    return check_int(name, value, 0, MAX_SEED)


def check_class(name: str, value: Any, num_classes: int) -> int:
    """-1, or a class index of a conditional model with `num_classes` classes (0: unconditional)."""
    v = check_int(name, value, -1, MAX_CLASS)
    if v >= 0 and num_classes == 0:
        raise RecipeError(f"{name}: this model is unconditional, it has no classes (use -1)")
    if v >= num_classes > 0:
        raise RecipeError(f"{name} must be between 0 and {num_classes - 1} (or -1), got {v}")
    return v


def check_psi(name: str, value: Any) -> float:
    return check_float(name, value, *PSI_RANGE)


def check_t(value: Any) -> float:
    return check_float("t", value, 0.0, 1.0)


def check_frames(value: Any) -> int:
    return check_int("frames", value, *FRAMES_RANGE)


def check_mode(value: Any) -> str:
    if value not in MODES:
        raise RecipeError(f"mode must be one of {', '.join(MODES)}, got {value!r}")
    return str(value)


def check_checkpoint(value: Any) -> str:
    if not isinstance(value, str):
        raise RecipeError("checkpoint must be a name")
    if not is_safe_name(value):
        raise RecipeError(f"checkpoint: invalid name {value!r}")
    return value


def clamp_directions(values: Iterable[Any], k: int) -> tuple[float, ...]:
    """Direction offsets: at most k finite numbers, each clamped to DIRECTION_RANGE."""
    out = []
    for i, v in enumerate(values):
        if i >= k:
            raise RecipeError(f"directions: {k} values at most for k={k}")
        f = check_float(f"direction {i + 1}", v, -math.inf, math.inf)
        out.append(min(DIRECTION_RANGE[1], max(DIRECTION_RANGE[0], f)))
    while out and out[-1] == 0.0:  # trailing zeros mean nothing: equal recipes compare equal
        out.pop()
    return tuple(out)


def _seq(name: str, value: Any) -> Any:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise RecipeError(f"{name} must be a list of {'seeds' if name == 'keyframes' else 'numbers'}")
    return value


def _check(r: Recipe) -> None:
    """Validate a Recipe and normalise its field types in place (frozen, hence object.__setattr__)."""
    put = object.__setattr__
    if isinstance(r.version, bool) or r.version != VERSION:
        raise RecipeError(f"recipe version {r.version!r} is not supported (this app reads version {VERSION})")
    check_checkpoint(r.checkpoint)
    if not isinstance(r.weights_hash, str) or len(r.weights_hash) > 64 or \
            any(c not in "0123456789abcdef" for c in r.weights_hash):
        raise RecipeError("weights_hash must be a short lowercase hex string")
    put(r, "seed_a", check_seed("seed_a", r.seed_a))
    put(r, "seed_b", check_seed("seed_b", r.seed_b))
    keys = _seq("keyframes", r.keyframes)
    if len(keys) > MAX_KEYFRAMES:
        raise RecipeError(f"keyframes: {MAX_KEYFRAMES} seeds at most after A and B, got {len(keys)}")
    put(r, "keyframes", tuple(check_seed(f"keyframe {i + 3}", s) for i, s in enumerate(keys)))
    put(r, "t", check_t(r.t))
    put(r, "mode", check_mode(r.mode))
    if r.easing not in EASINGS:
        raise RecipeError(f"easing must be one of {', '.join(EASINGS)}, got {r.easing!r}")
    put(r, "class_a", check_int("class_a", r.class_a, -1, MAX_CLASS))
    put(r, "class_b", check_int("class_b", r.class_b, -1, MAX_CLASS))
    put(r, "mix", check_float("mix", r.mix, 0.0, 1.0))
    if not isinstance(r.mix_follows_t, bool):
        raise RecipeError("mix_follows_t must be true or false")
    put(r, "psi", check_psi("psi", r.psi))
    put(r, "directions_k", check_int("directions.k", r.directions_k, 1, MAX_DIRECTIONS))
    put(r, "directions", clamp_directions(_seq("directions.values", r.directions), r.directions_k))
    put(r, "frames", check_frames(r.frames))
    put(r, "fps", check_int("fps", r.fps, *FPS_RANGE))
