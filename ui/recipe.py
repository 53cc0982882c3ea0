"""The recipe: everything that names one image of the panel, and the one way it becomes a latent.

A recipe is plain data (checkpoint name + weights hash, seeds, keyframes, t, lerp/slerp,
easing, classes and their mix, truncation psi, latent-direction values). It travels as JSON
(download/upload), as `?recipe=<urlsafe base64>` in a page URL, and inside PNG (iTXt
"gan_studio_recipe") and GIF (comment) exports. `latent(recipe, svc)` is the only code that
turns a recipe into generator inputs; every panel endpoint, the GIF export, the grid and the
tests go through it, so the same recipe renders the same pixels everywhere.

Every parser here validates: numbers are range-checked (direction values are clamped), names
are checked by `ui.paths.check_name`, unknown keys and oversized inputs are refused with a
`RecipeError` naming the field.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import io
import json
import math
from dataclasses import dataclass
from typing import Any, Iterable, NamedTuple

import numpy as np

from gan_core.images import encode_gif, encode_png
from gan_core.latent import EASINGS, MAX_SEED, interpolate, truncate, walk_position, z_from_seed

from .paths import check_name

VERSION = 1
PNG_KEY = "gan_studio_recipe"
MODES = ("slerp", "lerp")
PSI_RANGE = (0.05, 2.0)
DIRECTION_RANGE = (-5.0, 5.0)
MAX_DIRECTIONS = 8  # sliders the panel shows; recipes may use 1..MAX_DIRECTIONS
FRAMES_RANGE = (2, 240)
FPS_RANGE = (1, 50)
MAX_KEYFRAMES = 16  # seeds after A and B
MAX_TEXT = 16_384  # longest recipe text accepted (JSON or URL code)
MAX_FILE = 32 * 1024 * 1024  # largest uploaded file read to look for a recipe


class RecipeError(ValueError):
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
    class_a: int = -1  # -1: none (unconditional) or from the seed: seed % classes (conditional)
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

    # -- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version, "checkpoint": self.checkpoint,
            "weights_hash": self.weights_hash, "seed_a": self.seed_a, "seed_b": self.seed_b,
            "keyframes": list(self.keyframes), "t": self.t, "mode": self.mode,
            "easing": self.easing, "class_a": self.class_a, "class_b": self.class_b,
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
        base = _DEFAULTS.to_dict()
        d = {k: v for k, v in self.to_dict().items()
             if k in ("version", "checkpoint") or v != base[k]}
        text = json.dumps(d, separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")

    def replace(self, **changes: Any) -> "Recipe":
        return dataclasses.replace(self, **changes)

    @property
    def path_seeds(self) -> tuple[int, ...]:
        return (self.seed_a, self.seed_b, *self.keyframes)


# -- validation ---------------------------------------------------------------------------------
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
    """-1, or a class index of a conditional model with `num_classes` classes."""
    v = check_int(name, value, -1, 1_000_000)
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


def _check(r: Recipe) -> None:
    """Validate (and normalise types of) a Recipe in place; raises RecipeError."""
    set_ = object.__setattr__
    if r.version != VERSION:
        raise RecipeError(f"recipe version {r.version!r} is not supported (this app reads version {VERSION})")
    try:
        check_name(r.checkpoint)
    except ValueError:
        raise RecipeError(f"checkpoint: invalid name {r.checkpoint!r}") from None
    if not isinstance(r.weights_hash, str) or len(r.weights_hash) > 64 or \
            any(c not in "0123456789abcdef" for c in r.weights_hash):
        raise RecipeError("weights_hash must be a short lowercase hex string")
    set_(r, "seed_a", check_seed("seed_a", r.seed_a))
    set_(r, "seed_b", check_seed("seed_b", r.seed_b))
    keys = r.keyframes
    if isinstance(keys, (str, bytes)) or not isinstance(keys, (list, tuple)):
        raise RecipeError("keyframes must be a list of seeds")
    if len(keys) > MAX_KEYFRAMES:
        raise RecipeError(f"keyframes: {MAX_KEYFRAMES} seeds at most after A and B, got {len(keys)}")
    set_(r, "keyframes", tuple(check_seed(f"keyframe {i + 3}", s) for i, s in enumerate(keys)))
    set_(r, "t", check_float("t", r.t, 0.0, 1.0))
    set_(r, "mode", check_mode(r.mode))
    if r.easing not in EASINGS:
        raise RecipeError(f"easing must be one of {', '.join(EASINGS)}, got {r.easing!r}")
    set_(r, "class_a", check_int("class_a", r.class_a, -1, 1_000_000))
    set_(r, "class_b", check_int("class_b", r.class_b, -1, 1_000_000))
    set_(r, "mix", check_float("mix", r.mix, 0.0, 1.0))
    if not isinstance(r.mix_follows_t, bool):
        raise RecipeError("mix_follows_t must be true or false")
    set_(r, "psi", check_float("psi", r.psi, *PSI_RANGE))
    set_(r, "directions_k", check_int("directions.k", r.directions_k, 1, MAX_DIRECTIONS))
    if isinstance(r.directions, (str, bytes)) or not isinstance(r.directions, (list, tuple)):
        raise RecipeError("directions.values must be a list of numbers")
    set_(r, "directions", clamp_directions(r.directions, r.directions_k))
    set_(r, "frames", check_frames(r.frames))
    set_(r, "fps", check_int("fps", r.fps, *FPS_RANGE))


_DEFAULTS = Recipe(checkpoint="default")  # the values `to_url` leaves out


def check_model(recipe: Recipe, num_classes: int) -> Recipe:
    """Refuse class indices the model cannot render (RecipeError)."""
    check_class("class_a", recipe.class_a, num_classes)
    check_class("class_b", recipe.class_b, num_classes)
    return recipe


# -- parsing ------------------------------------------------------------------------------------
_FIELDS = {"version", "checkpoint", "weights_hash", "seed_a", "seed_b", "keyframes", "t", "mode",
           "easing", "class_a", "class_b", "mix", "mix_follows_t", "psi", "directions", "frames", "fps"}


def from_dict(data: Any) -> Recipe:
    if not isinstance(data, dict):
        raise RecipeError("a recipe must be a JSON object")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise RecipeError(f"unknown recipe field {unknown[0]!r}")
    if "checkpoint" not in data:
        raise RecipeError("the recipe names no checkpoint")
    d = dict(data)
    dirs = d.pop("directions", None)
    k, values = MAX_DIRECTIONS, ()
    if dirs is not None:
        if not isinstance(dirs, dict) or set(dirs) - {"k", "values"}:
            raise RecipeError('directions must look like {"k": 8, "values": [...]}')
        k, values = dirs.get("k", MAX_DIRECTIONS), dirs.get("values", ())
    if not isinstance(d["checkpoint"], str):
        raise RecipeError("checkpoint must be a name")
    try:
        return Recipe(directions_k=k, directions=values, **d)
    except TypeError as e:  # e.g. a list where a number belongs reaches dataclass init
        raise RecipeError(f"invalid recipe: {e}") from None


def from_json(text: str | bytes) -> Recipe:
    if len(text) > MAX_TEXT:
        raise RecipeError(f"recipe text is too long ({len(text)} characters, at most {MAX_TEXT})")
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RecipeError(f"the recipe is not valid JSON ({e.msg if hasattr(e, 'msg') else e})") from None
    except RecursionError:  # absurdly nested brackets
        raise RecipeError("the recipe is not valid JSON (nested too deeply)") from None
    return from_dict(data)


def from_url(code: str) -> Recipe:
    """Parse the `?recipe=` value of a page URL."""
    if not isinstance(code, str) or not code:
        raise RecipeError("the link carries no recipe")
    if len(code) > MAX_TEXT:
        raise RecipeError("the recipe in the link is too long")
    if any(c not in _B64URL for c in code.rstrip("=")):
        raise RecipeError("the recipe in the link is damaged (unexpected characters)")
    try:
        raw = base64.urlsafe_b64decode(code.rstrip("=") + "=" * (-len(code.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        raise RecipeError("the recipe in the link is damaged (bad base64)") from None
    return from_json(raw)


_B64URL = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def from_bytes(data: bytes) -> Recipe:
    """A recipe from an uploaded file's bytes: JSON, a PNG export or a GIF export."""
    if len(data) > MAX_FILE:
        raise RecipeError("the file is too large to hold a recipe")
    if data[:8] == b"\x89PNG\r\n\x1a\n" or data[:6] in (b"GIF87a", b"GIF89a"):
        return from_image(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RecipeError("the file is neither a recipe JSON nor a PNG/GIF export") from None
    return from_json(text)


def from_image(data: bytes) -> Recipe:
    """The recipe stored in a PNG (iTXt/tEXt "gan_studio_recipe") or GIF (comment) export."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format == "PNG":
                text = im.info.get(PNG_KEY)
            elif im.format == "GIF":
                comment = im.info.get("comment")
                text = comment.decode("utf-8", "replace") if isinstance(comment, bytes) else comment
            else:
                text = None
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        raise RecipeError("the image could not be read") from None
    if not text:
        raise RecipeError("this image carries no GAN Studio recipe")
    return from_json(text)


# -- recipe -> generator inputs ---------------------------------------------------------------
class Latent(NamedTuple):
    z: np.ndarray  # (nz,) float32
    label: int | None  # a class index, or None
    embedding: np.ndarray | None  # a blended class embedding, or None


def class_pair(recipe: Recipe, num_classes: int) -> tuple[int, int]:
    """The effective classes A and B (-1 resolves to seed % classes, as `RenderService.render`)."""
    a = recipe.class_a if recipe.class_a >= 0 else recipe.seed_a % num_classes
    b = recipe.class_b if recipe.class_b >= 0 else recipe.seed_b % num_classes
    return a, b


def latent(recipe: Recipe, svc: Any) -> Latent:
    """THE recipe -> (z, class) function: walk seeds at t, truncate by psi, add direction offsets, pick or blend classes.

    At t = 0 it gives exactly `svc.z(seed_a, psi)` and the class of `svc.render(seed_a, class_a)`,
    so `render(recipe)` equals `svc.render(seed_a, class_a, psi)` bit for bit (and seed B at t = 1).
    """
    num_classes = svc.cfg.num_classes if svc.conditional else 0
    check_model(recipe, num_classes)
    nz = svc.cfg.nz
    keys = recipe.path_seeds if recipe.keyframes else (recipe.seed_a, recipe.seed_b)
    i, j, te = walk_position(len(keys), recipe.t, recipe.easing)
    if te == 0.0:
        z = z_from_seed(keys[i], nz)
    elif te == 1.0:
        z = z_from_seed(keys[j], nz)
    else:
        z = interpolate(z_from_seed(keys[i], nz), z_from_seed(keys[j], nz), te, recipe.mode)
    if recipe.psi != 1.0:
        z = truncate(z, recipe.psi)
    values = recipe.directions[: recipe.directions_k]
    if any(values):
        z = svc.directions(recipe.directions_k).apply(z, values)
    if not num_classes:
        return Latent(z, None, None)
    if recipe.class_a < 0 and recipe.class_b < 0:
        # classes "from the seed": the class travels with the seeds along the path
        a, b, mix = keys[i] % num_classes, keys[j] % num_classes, te
    else:
        a, b = class_pair(recipe, num_classes)
        mix = recipe.t if recipe.mix_follows_t else recipe.mix
    if a == b or mix == 0.0:
        return Latent(z, a, None)
    if mix == 1.0:
        return Latent(z, b, None)
    return Latent(z, None, svc.class_embedding(a, b, mix))


def render(recipe: Recipe, svc: Any) -> np.ndarray:
    """(H, W, C) uint8 for a recipe, through the render service."""
    lat = latent(recipe, svc)
    return svc.render_z(lat.z, lat.label, lat.embedding)


def animation_recipes(recipe: Recipe, frames: int | None = None) -> list[Recipe]:
    """One recipe per frame, t = 0 .. 1 evenly (frame i equals the still image at t = i / (n - 1))."""
    n = check_frames(recipe.frames if frames is None else frames)
    return [recipe.replace(t=i / (n - 1)) for i in range(n)]


# -- exports ------------------------------------------------------------------------------------
def png_bytes(image: np.ndarray, recipe: Recipe) -> bytes:
    """A PNG of the image with the recipe in an iTXt chunk (pixels are stored losslessly)."""
    return encode_png(image, {PNG_KEY: recipe.to_json()}, compress_level=6)


def gif_bytes(frames: list[np.ndarray], recipe: Recipe) -> bytes:
    """An animated GIF (loops) with the recipe as its comment."""
    return encode_gif(frames, duration_ms=max(20, round(1000 / recipe.fps)), comment=recipe.to_json())


def describe(recipe: Recipe) -> str:
    """A one-line summary for people (e.g. a caption)."""
    path = " -> ".join(str(s) for s in recipe.path_seeds) if recipe.keyframes else \
        f"{recipe.seed_a} -> {recipe.seed_b}"
    parts = [f"{recipe.checkpoint}: seeds {path} at t={recipe.t:.3f} ({recipe.mode}, {recipe.easing})"]
    if recipe.class_a >= 0 or recipe.class_b >= 0:
        parts.append(f"classes {recipe.class_a}/{recipe.class_b} mix "
                     f"{'t' if recipe.mix_follows_t else f'{recipe.mix:.2f}'}")
    if recipe.psi != 1.0:
        parts.append(f"psi {recipe.psi:g}")
    if any(recipe.directions):
        parts.append("directions " + ", ".join(f"{v:+.2f}" for v in recipe.directions))
    return "; ".join(parts)
