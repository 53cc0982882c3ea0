"""Reading recipes back from JSON, a link's `?recipe=` code or a PNG/GIF export; writing those exports.

Every reader validates (through `Recipe`), bounds its input's size, refuses unknown fields,
and raises `RecipeError` with a message a user can act on. Recipes written by any earlier
version of the app read back: a version this app does not know is refused with a clear
message, and `MIGRATIONS` is where an older version is upgraded when the format changes.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from typing import Any, Callable

import numpy as np

from .. import formats
from ..images import encode_gif, encode_png
from .recipe import MAX_DIRECTIONS, VERSION, Recipe, RecipeError, check_checkpoint

PNG_KEY = "gan_studio_recipe"  # the PNG text chunk (iTXt) holding the recipe JSON
MAX_TEXT = 16_384  # longest recipe text accepted (JSON or URL code)
MAX_FILE = 32 * 1024 * 1024  # largest file read to look for a recipe
# version n -> a function upgrading a version-n dict to version n + 1 (none yet: only version 1 exists)
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}
_FIELDS = {"version", "checkpoint", "weights_hash", "seed_a", "seed_b", "keyframes", "t", "mode",
           "easing", "class_a", "class_b", "mix", "mix_follows_t", "psi", "directions", "frames", "fps"}
_B64URL = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


# -- exports that carry a recipe ---------------------------------------------------------------
def png_bytes(image: np.ndarray, r: Recipe) -> bytes:
    """A PNG of the image (pixels stored losslessly) with the recipe in an iTXt chunk."""
    return encode_png(image, {PNG_KEY: r.to_json()}, compress_level=6)


def gif_bytes(frames: list[np.ndarray], r: Recipe) -> bytes:
    """An animated GIF (loops, at the recipe's fps) with the recipe as its comment."""
    return encode_gif(frames, duration_ms=max(20, round(1000 / r.fps)), comment=r.to_json())


# -- reading ------------------------------------------------------------------------------------
def from_dict(data: Any) -> Recipe:
    if not isinstance(data, dict):
        raise RecipeError("a recipe must be a JSON object")
    data = _migrate(data)
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
    check_checkpoint(d["checkpoint"])
    try:
        return Recipe(directions_k=k, directions=values, **d)
    except TypeError as e:  # e.g. a list where a number belongs reaches dataclass init
        raise RecipeError(f"invalid recipe: {e}") from None


def _migrate(data: dict[str, Any]) -> dict[str, Any]:
    """An older recipe dict upgraded step by step to VERSION; a newer or malformed version is
    refused (`formats.upgrade`; a recipe without a version is version 1)."""
    return formats.upgrade(data, VERSION, MIGRATIONS, "recipe", RecipeError)


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
    bare = code.rstrip("=")
    if any(c not in _B64URL for c in bare):
        raise RecipeError("the recipe in the link is damaged (unexpected characters)")
    try:
        raw = base64.urlsafe_b64decode(bare + "=" * (-len(bare) % 4))
    except (binascii.Error, ValueError):
        raise RecipeError("the recipe in the link is damaged (bad base64)") from None
    return from_json(raw)


def from_bytes(data: bytes) -> Recipe:
    """A recipe from a file's bytes: recipe JSON, a PNG export or a GIF export."""
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
