"""List the files of a dataset folder and work out its layout (classes, wrapper folder).

The layout rules are shared by folders, zip archives and the built-in ORL faces:

* hidden files/folders and OS junk (`__MACOSX`, `Thumbs.db`, ...) are ignored;
* single wrapper folders around a class layout (`mydata/cats/...`) are descended into;
* sub-folders holding images are classes (every image below `root/<class>/` belongs to it),
  root-level files next to them are skipped;
* with no such sub-folder the folder is flat (unlabelled).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import DatasetError
from .decode import Unusable
from .paths import display, is_ignored, natural_key

# Suffixes that make a file count as an image when deciding the layout (decoding decides
# whether it really is one).
IMAGE_SUFFIXES = frozenset(
    ".png .apng .jpg .jpeg .jpe .jfif .bmp .dib .gif .webp .tif .tiff .pgm .ppm .pbm .pnm"
    " .ico .tga .avif .heic .heif .jp2 .j2k .qoi".split()
)


@dataclass(frozen=True)
class Entry:
    """One file of a dataset: `rel` is its display path relative to the dataset root."""

    rel: str
    parts: tuple[str, ...]  # raw path components (what `rel` shows)
    size: int  # bytes (declared size for archive members)
    stamp: str  # cheap change detector: size, mtime or CRC
    ref: Any  # how the owning listing reads it (a Path, a ZipInfo...)

    @property
    def looks_like_image(self) -> bool:
        """Whether the name has an image suffix (used for the layout only)."""
        return PurePosixPath(self.parts[-1]).suffix.lower() in IMAGE_SUFFIXES


@dataclass
class Layout:
    """Which files are used, with which label, and which are left out by the layout."""

    root: tuple[str, ...]  # wrapper folders descended into
    class_names: list[str]  # [] when flat
    items: list[tuple[Entry, int]]  # (entry, label); label -1 when flat
    skipped: list[tuple[str, str]]


def list_folder(root: Path) -> tuple[list[Entry], list[tuple[str, str]]]:
    """All non-hidden regular files below `root` (links to files are followed, links to
    folders are not), plus (rel, reason) for what could not be listed."""
    entries: list[Entry] = []
    skipped: list[tuple[str, str]] = []
    stack: list[tuple[str, tuple[str, ...]]] = [(os.fspath(root), ())]
    while stack:
        folder, parts = stack.pop()
        try:
            with os.scandir(folder) as it:
                children = list(it)
        except OSError as exc:
            if not parts:
                raise DatasetError(f"cannot read {display(str(root))}: {exc.strerror or exc}") from None
            skipped.append((_rel(parts), f"unreadable folder ({exc.strerror or exc})"))
            continue
        for child in children:
            sub = parts + (child.name,)
            if is_ignored((child.name,)):
                continue
            try:
                if child.is_dir(follow_symlinks=False):
                    stack.append((child.path, sub))
                    continue
                if child.is_symlink() and child.is_dir():
                    skipped.append((_rel(sub), "linked folder (not followed)"))
                    continue
                info = child.stat()
            except OSError as exc:
                skipped.append((_rel(sub), "broken link" if child.is_symlink() else f"unreadable ({exc.strerror})"))
                continue
            if not stat.S_ISREG(info.st_mode):
                skipped.append((_rel(sub), "not a regular file"))
                continue
            stamp = f"{info.st_size}:{info.st_mtime_ns}"
            entries.append(Entry(_rel(sub), sub, info.st_size, stamp, Path(child.path)))
    entries.sort(key=lambda e: natural_key(e.rel))
    return entries, skipped


def _rel(parts: tuple[str, ...]) -> str:
    return "/".join(display(p) for p in parts)


def detect_layout(entries: list[Entry]) -> Layout:
    """Apply the layout rules (module docstring) to a listing."""
    root: tuple[str, ...] = ()
    while (child := _wrapper_child(entries, root)) is not None:
        root += (child,)
    depth = len(root)
    inside = [e for e in entries if e.parts[:depth] == root and len(e.parts) > depth]
    outside = [e for e in entries if not (e.parts[:depth] == root and len(e.parts) > depth)]
    skipped = [(e.rel, f"outside the dataset folder {_rel(root)}/") for e in outside]

    class_keys = sorted(
        {display(e.parts[depth]) for e in inside if len(e.parts) > depth + 1 and e.looks_like_image},
        key=natural_key,
    )
    if not class_keys:
        items = [(e, -1) for e in inside]
        return Layout(root, [], items, skipped)
    index = {name: i for i, name in enumerate(class_keys)}
    items = []
    for e in inside:
        label = index.get(display(e.parts[depth])) if len(e.parts) > depth + 1 else None
        if label is None:
            skipped.append((e.rel, "outside class folders (the dataset has class sub-folders)"))
        else:
            items.append((e, label))
    items.sort(key=lambda item: (item[1], natural_key(item[0].rel)))
    return Layout(root, class_keys, items, skipped)


def _wrapper_child(entries: list[Entry], root: tuple[str, ...]) -> str | None:
    """The single folder below `root` to descend into, if `root` is just a wrapper around a
    class layout (no images of its own, one sub-folder, which has image sub-folders)."""
    depth = len(root)
    below = [e.parts[depth:] for e in entries if e.parts[:depth] == root and e.looks_like_image]
    if any(len(p) == 1 for p in below):
        return None
    children = {p[0] for p in below}
    if len(children) == 1 and any(len(p) > 2 for p in below):
        return children.pop()
    return None


class FolderListing:
    """The files of a dataset folder (same interface as the zip and ORL listings)."""

    def __init__(self, root: Path) -> None:
        self.entries, self.skipped = list_folder(root)
        self.stamp = "folder"

    def read(self, entry: Entry) -> bytes:
        """The file's bytes; Unusable (a skip reason) when it cannot be read."""
        try:
            with open(entry.ref, "rb") as fh:
                return fh.read()
        except OSError as exc:
            raise Unusable(f"unreadable ({exc.strerror or exc})") from None

    def close(self) -> None:
        pass
