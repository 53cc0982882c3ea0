"""Where the app keeps its files, and the only way a user-given name becomes a path.

Every run, upload and published checkpoint lives under the app's home directory
(`GAN_STUDIO_HOME`, default `<project>/app_data`). Names from the UI go through
`safe_name` (to create) or `child` (to look up), so no user string can point outside it.
The shipped checkpoints are where the library says (`gan_core.locations.shipped_dir`:
`GAN_STUDIO_SHIPPED`, default `<project>/checkpoints`); the dataset cache honours `GAN_STUDIO_CACHE`
in `gan_core.data.paths`.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from gan_core import locations
from gan_core.locations import NAME_RE, is_safe_name, shipped_dir

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# the shipped-checkpoint folder as the process started (tests point it elsewhere with monkeypatch)
SHIPPED_DIR = shipped_dir().resolve()


def app_home() -> Path:
    """The app's home folder (`$GAN_STUDIO_HOME`, default <project>/app_data), created if missing."""
    home = locations.app_home().resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


def runs_dir() -> Path:
    return _sub("runs")


def uploads_dir() -> Path:
    return _sub("uploads")


def published_dir() -> Path:
    return _sub("published")


def _sub(name: str) -> Path:
    p = app_home() / name
    p.mkdir(parents=True, exist_ok=True)
    return p


def safe_name(text: str, fallback: str = "item") -> str:
    """Turn any user text into a short, portable name: letters, digits, '.', '_' and '-'."""
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_text).strip("-._")
    name = re.sub(r"\.{2,}", ".", name)[:64].rstrip("-._")
    return name if name and NAME_RE.match(name) else fallback


def check_name(name: str) -> str:
    """Accept a name only if it is already safe (used for names coming back from requests)."""
    if not is_safe_name(name):
        raise ValueError(f"invalid name {name!r}: use letters, digits, '.', '_' or '-' (at most 64)")
    return name


def child(base: Path, name: str) -> Path:
    """base/name for a checked name, verified to stay directly inside base."""
    base = base.resolve()
    path = (base / check_name(name)).resolve()
    if path.parent != base:
        raise ValueError(f"invalid name {name!r}")
    return path


def unique_child(base: Path, text: str, fallback: str = "item") -> Path:
    """A new, not yet existing base/<safe name>, adding -2, -3 ... when taken."""
    name = safe_name(text, fallback)
    path, i = child(base, name), 2
    while path.exists():
        suffix = f"-{i}"
        path = child(base, name[: 64 - len(suffix)] + suffix)
        i += 1
    return path
