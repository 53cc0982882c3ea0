"""Where things live (built-in data, cache) and how names are sorted, shown and ignored."""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

DATA_ENV = "GAN_STUDIO_DATA"
CACHE_ENV = "GAN_STUDIO_CACHE"

# OS junk that is never part of a dataset (compared case-insensitively).
_JUNK_NAMES = {"__macosx", "thumbs.db", "ehthumbs.db", "desktop.ini", "$recycle.bin"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DIGITS = re.compile(r"(\d+)")


def project_root() -> Path:
    """The folder holding the `gan_core` package (the repository root in a checkout)."""
    return Path(__file__).resolve().parent.parent.parent


def data_root() -> Path:
    """Folder of the vendored built-in datasets (`$GAN_STUDIO_DATA` overrides it)."""
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else project_root() / "data"


def default_cache_dir() -> Path:
    """Folder for decoded-dataset caches (`$GAN_STUDIO_CACHE` overrides it)."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else project_root() / ".cache" / "datasets"


def natural_key(name: str) -> tuple:
    """Sort key putting s2 before s10 (digits compare as numbers, text case-insensitively)."""
    parts = _DIGITS.split(unicodedata.normalize("NFC", name))
    key = tuple(int(p) if i % 2 else p.casefold() for i, p in enumerate(parts))
    return (key, name)


def display(name: str) -> str:
    """A printable one-line form of a file name (undecodable bytes and control chars replaced)."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return _CONTROL.sub("?", unicodedata.normalize("NFC", text))


def is_ignored(parts: tuple[str, ...] | list[str]) -> bool:
    """True for hidden files/folders (leading dot) and OS junk such as __MACOSX or Thumbs.db."""
    return any(p.startswith(".") or p.casefold() in _JUNK_NAMES for p in parts)


def one_line(text: object, limit: int = 200) -> str:
    """First line of an exception message or other text, cut to `limit` characters."""
    line = str(text).strip().splitlines()[0] if str(text).strip() else ""
    line = _CONTROL.sub("?", line)
    return line if len(line) <= limit else line[: limit - 3] + "..."
