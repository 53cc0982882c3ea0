"""The vendored datasets (MNIST, ORL faces): locations, checksum manifests, IDX decoding.

Every file is checked against the manifests in the data folder when it is read; a
mismatch raises DatasetError naming the file. Cache keys come from the manifests, so a
cache hit needs no file reads at all.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from .paths import data_root, natural_key
from .scan import Entry

BUILTIN_DATASETS: dict[str, str] = {
    "mnist": "MNIST handwritten digits (70k, 10 classes)",
    "orl-faces": "AT&T/ORL faces (400 greyscale photos of 40 people; train 320 / test 80)",
}

MNIST_DIR = "mnist"
ORL_DIR = "orl_faces"
_MNIST_PREFIX = {"train": ("train",), "test": ("t10k",), "all": ("train", "t10k")}
# ORL has no official split: photos 9 and 10 of every person are held out as "test", so both
# splits hold all 40 people and a model trained on "train" never saw the "test" photos.
ORL_TEST_PHOTOS = frozenset({"9", "10"})


def read_manifest(path: Path) -> dict[str, str]:
    """Parse a `sha256sum`/`md5sum` style file into {relative name: hex digest}."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise DatasetError(f"checksum manifest missing or unreadable: {path}") from None
    sums: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip():
            digest, _, name = line.strip().partition(" ")
            sums[name.strip().lstrip("*")] = digest.lower()
    if not sums:
        raise DatasetError(f"checksum manifest is empty: {path}")
    return sums


def manifest_stamp(name: str) -> str:
    """Digest of the manifests describing built-in `name` (its cache identity)."""
    folder = data_root() / (MNIST_DIR if name == "mnist" else ORL_DIR)
    files = ("SHA256SUMS", "MD5SUMS") if name == "mnist" else ("SHA256SUMS",)
    digest = hashlib.sha256()
    for file in files:
        digest.update(repr(sorted(read_manifest(folder / file).items())).encode())
    return f"{name}:{digest.hexdigest()}"


def verify(path: Path, data: bytes, expected: str, algo: str = "sha256") -> None:
    """Raise DatasetError if `data` (read from `path`) does not have the expected digest."""
    actual = hashlib.new(algo, data).hexdigest()
    if actual != expected:
        raise DatasetError(
            f"checksum mismatch for {path}: the built-in data is damaged or was modified "
            f"({algo} {actual[:12]}..., expected {expected[:12]}...); restore it from the repository"
        )


def read_file(path: Path) -> bytes:
    """The bytes of a built-in data file; DatasetError when it is missing."""
    try:
        return path.read_bytes()
    except OSError:
        raise DatasetError(
            f"built-in dataset file missing or unreadable: {path} "
            "(set GAN_STUDIO_DATA to the folder holding mnist/ and orl_faces/)"
        ) from None


# ---------------------------------------------------------------- MNIST


def load_mnist(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Verified MNIST images (N, 28, 28) uint8 and labels (N,) int64 for a split."""
    folder = data_root() / MNIST_DIR
    sha = read_manifest(folder / "SHA256SUMS")
    md5 = read_manifest(folder / "MD5SUMS")
    images, labels = [], []
    for prefix in _MNIST_PREFIX[split]:
        imgs = _read_idx(folder, f"{prefix}-images-idx3-ubyte", sha, md5, ndim=3)
        labs = _read_idx(folder, f"{prefix}-labels-idx1-ubyte", sha, md5, ndim=1)
        if len(imgs) != len(labs) or labs.max(initial=0) > 9:
            raise DatasetError(f"MNIST files in {folder} do not match each other ({prefix})")
        images.append(imgs)
        labels.append(labs.astype(np.int64))
    return np.concatenate(images), np.concatenate(labels)


def _read_idx(folder: Path, name: str, sha: dict, md5: dict, ndim: int) -> np.ndarray:
    """Read, verify and parse one gzip-compressed IDX file."""
    path = folder / f"{name}.gz"
    if f"{name}.gz" not in sha or name not in md5:
        raise DatasetError(f"no checksum for {path} in the manifests of {folder}")
    data = read_file(path)
    verify(path, data, sha[f"{name}.gz"])
    try:
        raw = gzip.decompress(data)
    except (OSError, EOFError, zlib.error):
        raise DatasetError(f"{path} is not a valid gzip file") from None
    verify(path, raw, md5[name], "md5")
    header = np.frombuffer(raw, dtype=">u4", count=1 + ndim) if len(raw) >= 4 * (1 + ndim) else None
    if header is None or raw[:3] != b"\x00\x00\x08" or raw[3] != ndim:
        raise DatasetError(f"{path} is not a uint8 IDX file with {ndim} dimension(s)")
    shape = tuple(int(d) for d in header[1:])
    offset = 4 * (1 + ndim)
    if len(raw) - offset != int(np.prod(shape)):
        raise DatasetError(f"{path} is truncated: header says {shape}")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(shape)


# ---------------------------------------------------------------- ORL faces


def orl_in_split(rel: str, split: str) -> bool:
    """Whether ORL file `rel` ("s3/9.pgm") belongs to `split` (train, test or all)."""
    held_out = Path(rel).stem in ORL_TEST_PHOTOS
    return split == "all" or held_out == (split == "test")


class OrlListing:
    """The ORL face files of a split, as named by the manifest; each read is checksum-verified."""

    def __init__(self, split: str) -> None:
        self.folder = data_root() / ORL_DIR
        self.sums = read_manifest(self.folder / "SHA256SUMS")
        self.entries: list[Entry] = []
        self.skipped: list[tuple[str, str]] = []
        for rel in sorted((r for r in self.sums if orl_in_split(r, split)), key=natural_key):
            path = self.folder / rel
            size = path.stat().st_size if path.is_file() else -1
            if size < 0:
                read_file(path)  # raises the "missing" error
            self.entries.append(Entry(rel, tuple(rel.split("/")), size, self.sums[rel], path))
        self.stamp = manifest_stamp("orl-faces")

    def read(self, entry: Entry) -> bytes:
        data = read_file(entry.ref)
        verify(entry.ref, data, entry.stamp)
        return data

    def close(self) -> None:
        pass
