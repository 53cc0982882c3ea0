"""The single pass over a file source shared by `load_dataset` and `inspect_dataset`.

Each file is read once and checked once (size limits, then `decode_image`); usable files
are yielded, the rest are appended to `skipped` with their reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from .decode import MAX_FILE_BYTES, Decoded, Unusable, decode_image
from .scan import Entry
from .sources import FileSource

# Formats people upload that PIL here cannot read: a clearer reason than "not an image".
_UNSUPPORTED = {".heic": "HEIC", ".heif": "HEIF", ".avif": "AVIF", ".svg": "SVG", ".psd": "PSD",
                ".raw": "RAW", ".cr2": "RAW", ".nef": "RAW", ".dng": "RAW", ".arw": "RAW"}


@dataclass
class Item:
    """A usable file: its position in the layout, entry, label and decoded image."""

    index: int
    entry: Entry
    label: int
    decoded: Decoded


def decode_items(source: FileSource, skipped: list[tuple[str, str]]) -> Iterator[Item]:
    """Yield every usable file of `source` in layout order; record the others in `skipped`."""
    for index, (entry, label) in enumerate(source.layout.items):
        try:
            decoded = _read_and_decode(source, entry)
        except Unusable as exc:
            skipped.append((entry.rel, exc.reason))
            continue
        yield Item(index, entry, label, decoded)


def _read_and_decode(source: FileSource, entry: Entry) -> Decoded:
    if entry.size == 0:
        raise Unusable("empty file")
    if entry.size > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES / 1024**2
        raise Unusable(f"file too large ({entry.size / 1024**2:.0f} MB > {limit:.0f} MB limit)")
    data = source.listing.read(entry)
    try:
        return decode_image(data)
    except Unusable as exc:
        fmt = _UNSUPPORTED.get(PurePosixPath(entry.parts[-1]).suffix.lower())
        if exc.reason == "not an image" and fmt:
            raise Unusable(f"unsupported image format ({fmt}): convert it to PNG or JPEG") from None
        raise
