"""Image helpers: tensors in [-1, 1] -> uint8 arrays, grids, PNG/GIF files with metadata."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from PIL import Image, PngImagePlugin

from .latent import seed_class


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(B, C, H, W) or (C, H, W) in [-1, 1] -> (B, H, W, C) or (H, W, C) uint8."""
    x = x.detach().float().clamp(-1.0, 1.0).add(1.0).mul(127.5).round().to(torch.uint8)
    x = x.movedim(-3, -1)
    return x.cpu().numpy()


def from_uint8(x: torch.Tensor) -> torch.Tensor:
    """uint8 pixels (any layout) -> float in [-1, 1]; the inverse of `to_uint8` up to rounding."""
    return x.float().div_(127.5).sub_(1.0)


GRID_ROW = 10  # a conditional grid with few classes: one row per class, this many seeds across
GRID_COLS = 8  # any other grid: this many images per row
GRID_IMAGES = 64  # any other grid: this many seeds


def model_input(images: np.ndarray, channels: int, size: int) -> torch.Tensor:
    """(N, H, W, C) uint8 pictures at any size and channel count -> (N, channels, size, size) float
    in [-1, 1], as a measuring network takes them (grey by the channel mean, colour by repeating the
    grey channel, resized bilinearly with antialiasing)."""
    import torch.nn.functional as F

    x = from_uint8(torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2))  # (N, C, H, W)
    if x.shape[1] != channels:
        x = x.mean(1, keepdim=True) if channels == 1 else x.expand(-1, 3, -1, -1)
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x


def grid_layout(num_classes: int) -> tuple[list[int], list[int] | None, int]:
    """(seeds, labels or None, images per row): the one layout of every sample grid
    (the trainer's progress grids, the gallery, model cards).

    Conditional with <= GRID_ROW classes: one row per class, seeds 0..GRID_ROW-1 across (each
    column keeps its z); otherwise seeds 0..GRID_IMAGES-1, GRID_COLS per row, labels cycling
    through the classes.
    """
    if 0 < num_classes <= GRID_ROW:
        seeds = [s for _ in range(num_classes) for s in range(GRID_ROW)]
        labels = [c for c in range(num_classes) for _ in range(GRID_ROW)]
        return seeds, labels, GRID_ROW
    seeds = list(range(GRID_IMAGES))
    return seeds, ([seed_class(s, num_classes) for s in seeds] if num_classes else None), GRID_COLS


def make_grid(images: np.ndarray, nrow: int = 8, padding: int = 2, pad_value: int = 0) -> np.ndarray:
    """(N, H, W, C) uint8 -> one (rows*(H+p)+p, nrow*(W+p)+p, C) image; nrow images per row."""
    n, h, w, c = images.shape
    nrow = max(1, min(nrow, n))
    rows = -(-n // nrow)
    grid = np.full((rows * (h + padding) + padding, nrow * (w + padding) + padding, c),
                   pad_value, dtype=np.uint8)
    for i in range(n):
        r, col = divmod(i, nrow)
        y, x = padding + r * (h + padding), padding + col * (w + padding)
        grid[y:y + h, x:x + w] = images[i]
    return grid


def to_pil(image: np.ndarray) -> Image.Image:
    """(H, W, 1|3) or (H, W) uint8 -> PIL image (L or RGB)."""
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    return Image.fromarray(np.ascontiguousarray(image))


def _png_info(metadata: dict[str, Any] | None) -> PngImagePlugin.PngInfo | None:
    if not metadata:
        return None
    info = PngImagePlugin.PngInfo()
    for k, v in metadata.items():
        info.add_itxt(k, v if isinstance(v, str) else json.dumps(v, sort_keys=True))
    return info


def encode_png(image: np.ndarray, metadata: dict[str, Any] | None = None, compress_level: int = 1) -> bytes:
    buf = io.BytesIO()
    to_pil(image).save(buf, format="PNG", pnginfo=_png_info(metadata), compress_level=compress_level)
    return buf.getvalue()


def save_png(image: np.ndarray, path: str | Path, metadata: dict[str, Any] | None = None) -> Path:
    """Write a PNG atomically (temp file + rename), with optional iTXt metadata."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(encode_png(image, metadata, compress_level=6))
    os.replace(tmp, path)
    return path


def encode_gif(frames: Sequence[np.ndarray], duration_ms: int = 50, loop: int = 0,
               comment: str | None = None) -> bytes:
    """Frames (H, W, C) uint8 -> animated GIF bytes; `comment` is stored in the GIF (e.g. a recipe)."""
    if not frames:
        raise ValueError("an animation needs at least one frame")
    pil = [to_pil(f) for f in frames]
    if pil[0].mode == "L":  # GIF is palette-based; grey frames keep a grey palette
        pil = [p.convert("P") for p in pil]
    buf = io.BytesIO()
    extra: dict[str, Any] = {"comment": comment.encode("utf-8")} if comment else {}
    pil[0].save(buf, format="GIF", save_all=True, append_images=pil[1:], duration=duration_ms,
                loop=loop, optimize=False, disposal=1, **extra)
    return buf.getvalue()
