"""Decode one untrusted image file into a fully loaded 8-bit L or RGB PIL image.

Every check a file goes through lives here: empty file, not an image, decompression bomb
(refused from the header, before any pixel is decoded), corrupt or truncated data (a full
decode is forced), and odd modes (CMYK, 16-bit, float, alpha, palette, animation), which
are converted and noted.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .paths import one_line

MAX_PIXELS = 40_000_000  # declared width*height above this is refused from the header
MAX_FILE_BYTES = 512 * 1024 * 1024  # larger files are not read at all

_PIL_BOMB = re.compile(r"\((\d+) pixels\)")
_MAGIC = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"),
          (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"BM", "BMP"))


class Unusable(Exception):
    """A file that cannot be used; `reason` is a short phrase for the skipped list."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Decoded:
    """A decoded image: `image` is mode L (grey) or RGB (colour), fully loaded."""

    image: Image.Image
    mode: str  # original PIL mode
    size: tuple[int, int]  # original (width, height)
    notes: list[str] = field(default_factory=list)  # conversions applied


def guard_pil() -> None:
    """Make PIL's own bomb guard at least as strict as ours (PIL hard-fails at 2x its limit)."""
    if Image.MAX_IMAGE_PIXELS is None or Image.MAX_IMAGE_PIXELS > MAX_PIXELS:
        Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def too_large_reason(width: int, height: int) -> str:
    """Skip reason for a decompression bomb, naming its declared size."""
    megapixels = width * height / 1e6
    return f"image too large: declares {width}x{height} ({megapixels:.0f} MP > {MAX_PIXELS / 1e6:.0f} MP limit)"


def _corrupt(exc: BaseException) -> str:
    return f"corrupt ({one_line(exc, 80) or type(exc).__name__})"


def decode_image(data: bytes) -> Decoded:
    """Decode `data` or raise `Unusable` with a short reason. Never raises anything else."""
    if not data:
        raise Unusable("empty file")
    guard_pil()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # bomb warnings and PIL's palette chatter; we decide
        try:
            im = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as exc:
            raise Unusable(_bomb_reason(data, str(exc))) from None
        except UnidentifiedImageError:
            kind = _signature(data)
            raise Unusable(f"corrupt (damaged {kind} header)" if kind else "not an image") from None
        except Exception as exc:  # noqa: BLE001 - any parser failure means a bad file
            raise Unusable(_corrupt(exc)) from None
        width, height = im.size  # from the header only: nothing decoded yet
        if width * height > MAX_PIXELS:
            raise Unusable(too_large_reason(width, height))
        if width < 1 or height < 1:
            raise Unusable("empty image (0 pixels)")
        try:
            return _finish(im)
        except Unusable:
            raise
        except Image.DecompressionBombError:
            raise Unusable(too_large_reason(width, height)) from None
        except Exception as exc:  # noqa: BLE001 - truncated/corrupt data, bad EXIF...
            raise Unusable(_corrupt(exc)) from None


def _signature(data: bytes) -> str | None:
    """The image format `data` claims to be by its magic bytes, if any."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return None


def _bomb_reason(data: bytes, message: str) -> str:
    """Reason for a file PIL itself refused as a bomb; names the declared size."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return too_large_reason(width, height)
    match = _PIL_BOMB.search(message)
    pixels = f"{int(match.group(1)) / 1e6:.0f} MP" if match else "too many pixels"
    return f"image too large: declares {pixels} (> {MAX_PIXELS / 1e6:.0f} MP limit)"


def _finish(im: Image.Image) -> Decoded:
    """Pick the first frame, force a full decode, apply EXIF rotation, convert to L/RGB."""
    mode, size = im.mode, im.size
    notes: list[str] = []
    if getattr(im, "is_animated", False):
        im.seek(0)
        notes.append(f"animated {im.format or ''}: first frame".replace("  ", " "))
    im.load()
    im = _exif_upright(im, notes)
    return Decoded(_to_l_or_rgb(im, notes), mode, size, notes)


def _exif_upright(im: Image.Image, notes: list[str]) -> Image.Image:
    try:
        orientation = im.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - unreadable EXIF is ignored, not fatal
        return im
    if orientation in (2, 3, 4, 5, 6, 7, 8):
        notes.append("rotated per EXIF orientation")
        return ImageOps.exif_transpose(im)
    return im


def _to_l_or_rgb(im: Image.Image, notes: list[str]) -> Image.Image:
    mode = im.mode
    if mode == "L":
        return im
    if mode == "RGB":
        return _grey_if_equal(im)
    if mode == "1":
        notes.append("1-bit -> 8-bit grey")
        return im.convert("L")
    if mode.startswith("I;16") or mode == "I":
        return _int_to_l(im, notes)
    if mode == "F":
        notes.append("float -> 8-bit")
        return _scale_to_l(np.nan_to_num(np.asarray(im, dtype=np.float64)), (1.0, 255.0))
    if mode in ("LA", "La"):
        notes.append("LA -> L (transparency on white)")
        return _on_white(im.convert("LA"), "L")
    if mode in ("RGBA", "RGBa", "PA") or (mode == "P" and _has_transparency(im)):
        notes.append(f"{mode}{'+transparency' if mode == 'P' else ''} -> RGB (transparency on white)")
        return _after_palette(_on_white(im.convert("RGBA"), "RGB"), mode, notes)
    if mode == "P":
        notes.append("P -> RGB")
        return _after_palette(im.convert("RGB"), mode, notes)
    try:
        rgb = im.convert("RGB")
    except Exception:  # noqa: BLE001
        raise Unusable(f"unsupported colour mode {mode}") from None
    notes.append(f"{mode} -> RGB")
    return _grey_if_equal(rgb)


def _has_transparency(im: Image.Image) -> bool:
    return "transparency" in im.info or (im.palette is not None and im.palette.mode == "RGBA")


def _after_palette(rgb: Image.Image, mode: str, notes: list[str]) -> Image.Image:
    """A palette image whose colours are all grey becomes L (and the note says so)."""
    out = _grey_if_equal(rgb)
    if out.mode == "L" and mode == "P":
        notes[-1] = notes[-1].replace("-> RGB", "-> L")
    return out


def _grey_if_equal(rgb: Image.Image) -> Image.Image:
    """RGB with R == G == B everywhere is greyscale: return it as L (lossless)."""
    arr = np.asarray(rgb)
    if np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 0], arr[..., 2]):
        return Image.fromarray(np.ascontiguousarray(arr[..., 0]), "L")
    return rgb


def _on_white(im: Image.Image, out_mode: str) -> Image.Image:
    """Composite an LA/RGBA image over a white background."""
    arr = np.asarray(im).astype(np.uint32)
    alpha = arr[..., -1:]
    colour = arr[..., :-1]
    out = (colour * alpha + 255 * (255 - alpha) + 127) // 255
    out = out.astype(np.uint8)
    return Image.fromarray(out[..., 0] if out_mode == "L" else out, out_mode)


def _int_to_l(im: Image.Image, notes: list[str]) -> Image.Image:
    """16-bit (or 32-bit integer) greyscale to 8-bit: 0..65535 maps linearly onto 0..255."""
    arr = np.asarray(im).astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() > 65535):
        notes.append("32-bit -> 8-bit (rescaled)")
        return _scale_to_l(arr.astype(np.float64), ())
    notes.append("16-bit -> 8-bit")
    return Image.fromarray(((arr * 255 + 32767) // 65535).astype(np.uint8), "L")


def _scale_to_l(arr: np.ndarray, units: tuple[float, ...]) -> Image.Image:
    """Float data to 8-bit L: [0, unit] maps onto 0..255 for the first unit that holds all
    values (1.0 then 255.0 for float images); otherwise min..max is stretched to 0..255."""
    lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
    for unit in units:
        if lo >= 0.0 and hi <= unit:
            lo, hi = 0.0, unit
            break
    scaled = np.zeros_like(arr) if hi <= lo else (arr - lo) * (255.0 / (hi - lo))
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), "L")
