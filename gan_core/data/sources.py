"""Resolve a `source` string (built-in name, folder, .zip) into a readable source."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np

from ..errors import ConfigError, DatasetError
from .archive import ZipListing
from .builtin import BUILTIN_DATASETS, OrlListing, load_mnist, manifest_stamp
from .paths import display
from .scan import FolderListing, Layout, detect_layout

Listing = Union[FolderListing, ZipListing, OrlListing]


@dataclass
class FileSource:
    """A source made of image files: a folder, a zip, or the built-in ORL faces."""

    label: str  # the source as named in messages
    listing: Listing
    layout: Layout

    @property
    def num_files(self) -> int:
        """Files seen (hidden files and OS junk excluded)."""
        return len(self.listing.entries) + len(self.listing.skipped)

    @property
    def skipped(self) -> list[tuple[str, str]]:
        """Files left out before decoding (unsafe members, outside the layout...)."""
        return self.listing.skipped + self.layout.skipped

    def stamp_lines(self) -> Iterator[str]:
        """Cheap content identity: every file's name and size/mtime (or CRC/checksum)."""
        yield self.listing.stamp
        for entry in self.listing.entries:
            yield f"{entry.rel}\x00{entry.stamp}"
        for rel, reason in self.listing.skipped:
            yield f"{rel}\x00{reason}"


@dataclass
class MnistSource:
    """The built-in MNIST split, decoded straight from its IDX files."""

    label: str
    split: str
    stamp: str

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        """Verified (N, 28, 28) uint8 images and (N,) int64 labels of the split."""
        return load_mnist(self.split)

    def stamp_lines(self) -> Iterator[str]:
        """Cache identity: the manifests' digest."""
        yield self.stamp


Source = Union[FileSource, MnistSource]


SPLITS = ("train", "test", "all")


def builtin_name(source: str) -> str | None:
    """The built-in dataset `source` names ("mnist", "orl-faces", "mnist:test"...), or None."""
    name, _, split = source.strip().lower().replace("_", "-").partition(":")
    return name if name in BUILTIN_DATASETS and (not split or split in SPLITS) else None


def effective_split(source: str, split: str) -> str:
    """The split to load: a built-in's ":test"-style suffix wins over the default "train"."""
    suffix = source.strip().lower().partition(":")[2]
    if not suffix or builtin_name(source) is None:
        return split
    if split not in ("train", suffix):
        raise ConfigError(f"{display(source)} names split {suffix!r} but split={split!r} was asked for")
    return suffix


@contextmanager
def open_source(source: str, split: str) -> Iterator[Source]:
    """Open `source` for reading; DatasetError/ArchiveError when it cannot be used."""
    name = builtin_name(source)
    if name == "mnist":
        yield MnistSource(display(source), split, manifest_stamp("mnist"))
        return
    label = display(source)
    listing: Listing
    if name == "orl-faces":
        listing = OrlListing(split)
    else:
        path = Path(source).expanduser()
        try:
            exists, is_dir = path.exists(), path.is_dir()
        except (OSError, ValueError):  # unreadable parent, NUL byte in the name...
            exists = is_dir = False
        if not exists:
            raise DatasetError(f"dataset not found: {label}")
        if split == "test":
            raise ConfigError(f"split 'test' exists only for the built-in datasets, not for {label}")
        if is_dir:
            listing = FolderListing(path)
        elif path.suffix.lower() == ".zip":
            listing = ZipListing(path, label)
        else:
            raise DatasetError(f"{label} is neither a folder nor a .zip archive")
    try:
        yield FileSource(label, listing, detect_layout(listing.entries))
    finally:
        listing.close()
