"""Decoded-dataset cache: one uncompressed .npz per fingerprint, written atomically.

A file that cannot be read back exactly (truncated, wrong shape, other fingerprint...) is
treated as missing, so the caller silently rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .decode import MAX_FILE_BYTES, MAX_PIXELS

CACHE_FORMAT = 1  # bump when decoding/transform behaviour changes


@dataclass
class CachedData:
    """What a cache file holds (ImageData minus the caller's `source`)."""

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    channels: int
    fingerprint: str
    skipped: list[tuple[str, str]] = field(default_factory=list)
    converted: list[tuple[str, str]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # class folders without usable images


def fingerprint(stamp_lines: Iterable[str], image_size: int, channels: int, split: str) -> str:
    """Hex digest of the source identity plus every parameter that changes the arrays."""
    digest = hashlib.sha256()
    params = {
        "format": CACHE_FORMAT,
        "image_size": image_size,
        "channels": channels,
        "split": split,
        "max_pixels": MAX_PIXELS,
        "max_file_bytes": MAX_FILE_BYTES,
    }
    digest.update(json.dumps(params, sort_keys=True).encode())
    for line in stamp_lines:
        digest.update(b"\n")
        digest.update(line.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def cache_path(cache_dir: Path, key: str) -> Path:
    """The cache file for fingerprint `key`."""
    return cache_dir / f"dataset-{key}.npz"


def load(cache_dir: Path, key: str, image_size: int) -> CachedData | None:
    """The cached data for `key`, or None when absent or unusable."""
    path = cache_path(cache_dir, key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            images, labels = npz["images"], npz["labels"]
            meta = json.loads(npz["meta"].tobytes().decode("utf-8"))
        data = CachedData(
            images=images,
            labels=labels,
            class_names=[str(n) for n in meta["class_names"]],
            channels=int(meta["channels"]),
            fingerprint=str(meta["fingerprint"]),
            skipped=[(str(a), str(b)) for a, b in meta["skipped"]],
            converted=[(str(a), str(b)) for a, b in meta["converted"]],
            dropped=[str(n) for n in meta["dropped"]],
        )
    except Exception:  # noqa: BLE001 - any unreadable cache is simply rebuilt
        return None
    ok = (
        data.fingerprint == key
        and images.dtype == np.uint8
        and images.ndim == 4
        and images.shape[1:] == (image_size, image_size, data.channels)
        and labels.dtype == np.int64
        and labels.shape == (images.shape[0],)
        and images.flags.c_contiguous
    )
    return data if ok else None


def save(cache_dir: Path, data: CachedData) -> bool:
    """Write `data` atomically (temp file + rename); False when the cache is not writable."""
    meta = {
        "fingerprint": data.fingerprint,
        "class_names": data.class_names,
        "channels": data.channels,
        "skipped": data.skipped,
        "converted": data.converted,
        "dropped": data.dropped,
    }
    raw_meta = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)
    tmp = None
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".dataset-", suffix=".tmp", dir=cache_dir)
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, images=data.images, labels=data.labels, meta=raw_meta)
        os.replace(tmp, cache_path(cache_dir, data.fingerprint))
        return True
    except OSError:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        return False
