"""Helpers that build small datasets, odd images and hostile archives for tests/test_data.py."""

from __future__ import annotations

import io
import stat
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def pattern(seed: int, size: tuple[int, int] = (32, 32), colour: bool = True) -> np.ndarray:
    """A smooth random image (H, W[, 3]) uint8 in 20..230: distinct per seed, stable dHash."""
    rng = np.random.default_rng(seed)
    channels = 3 if colour else 1
    coarse = rng.uniform(20, 230, (5, 5, channels)).astype(np.float32)
    width, height = size
    small = [Image.fromarray(coarse[..., c], "F").resize((width, height), Image.BICUBIC) for c in range(channels)]
    arr = np.clip(np.rint(np.stack([np.asarray(s) for s in small], axis=-1)), 20, 230).astype(np.uint8)
    return arr if colour else arr[..., 0]


def save_pattern(path: Path, seed: int, size: tuple[int, int] = (32, 32), colour: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pattern(seed, size, colour)).save(path)
    return path


def make_class_folder(root: Path, classes: tuple[str, ...] = ("c1", "c2", "c10"), per_class: int = 6,
                      colour: bool = True) -> Path:
    """root/<class>/img<i>.png, varied sizes; seeds are unique per image."""
    for ci, name in enumerate(classes):
        for i in range(per_class):
            size = (32 + 4 * i, 24 + 2 * ci)
            save_pattern(root / name / f"img{i}.png", 100 * ci + i, size, colour)
    return root


def make_flat_folder(root: Path, count: int = 6, colour: bool = True) -> Path:
    for i in range(count):
        save_pattern(root / f"{i:02d}.png", 1000 + i, (30, 30), colour)
    return root


def zip_folder(folder: Path, zip_path: Path, prefix: str = "") -> Path:
    """Zip every file under `folder`, member names prefixed with `prefix` (e.g. 'mydata/')."""
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, prefix + path.relative_to(folder).as_posix())
    return zip_path


def png_bytes(arr: np.ndarray, **kwargs) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG", **kwargs)
    return buf.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A tiny valid-looking PNG whose IHDR declares width x height (CRC fixed up)."""
    data = bytearray(png_bytes(np.zeros((4, 4), dtype=np.uint8)))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


def symlink_member(zf: zipfile.ZipFile, name: str, target: str) -> None:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    zf.writestr(info, target)


def odd_images(folder: Path) -> dict[str, str]:
    """Write one image per odd mode; returns {file name: expected conversion note fragment}."""
    folder.mkdir(parents=True, exist_ok=True)
    base = pattern(7, (24, 20))
    Image.fromarray(base).convert("CMYK").save(folder / "cmyk.jpg", quality=95)
    sixteen = (pattern(8, (24, 20), colour=False).astype(np.uint16) * 257)
    Image.fromarray(sixteen).save(folder / "deep.png")  # opens as I;16
    rgba = np.dstack([base, np.full(base.shape[:2], 255, np.uint8)])
    rgba[:5, :5, 3] = 0  # a fully transparent corner -> white
    Image.fromarray(rgba, "RGBA").save(folder / "alpha.png")
    pal = Image.fromarray(base).convert("P", palette=Image.ADAPTIVE, colors=16)
    pal.info["transparency"] = 0
    pal.save(folder / "palette.png", transparency=0)
    frames = [Image.fromarray(pattern(s, (24, 20))).convert("P") for s in (9, 10, 11)]
    frames[0].save(folder / "anim.gif", save_all=True, append_images=frames[1:], duration=50, loop=0)
    Image.fromarray(pattern(12, (24, 20), colour=False) > 120).save(folder / "bits.png")  # mode 1
    return {
        "cmyk.jpg": "CMYK -> RGB",
        "deep.png": "16-bit -> 8-bit",
        "alpha.png": "RGBA -> RGB",
        "palette.png": "transparency",
        "anim.gif": "first frame",
        "bits.png": "1-bit",
    }
