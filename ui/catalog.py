"""The checkpoints a user can pick by name: the shipped ones and the runs they published.

UIs show and send names only; `resolve` turns a name back into a folder after checking it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gan_core.checkpoints import copy_checkpoint, read_config
from gan_core.errors import GanStudioError

from .paths import SHIPPED_DIR, check_name, child, published_dir

RESERVED = {"judges"}  # folders under checkpoints/ that are not generators


@dataclass
class Entry:
    name: str
    path: Path
    kind: str  # "shipped" | "published"
    arch: str
    image_size: int
    channels: int
    num_classes: int
    class_names: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        cls = f", {self.num_classes} classes" if self.num_classes else ""
        return f"{self.name} ({self.arch}, {self.image_size}px{cls})"


def _entries(root: Path, kind: str) -> list[Entry]:
    out = []
    if not root.is_dir():
        return out
    for p in sorted(root.iterdir()):
        if p.name in RESERVED or p.name.startswith(".") or not (p / "config.json").is_file():
            continue
        try:
            check_name(p.name)
            cfg, meta = read_config(p)
        except (GanStudioError, ValueError):
            continue  # not a usable checkpoint: never offered
        out.append(Entry(p.name, p, kind, cfg.arch, cfg.image_size, cfg.channels, cfg.num_classes,
                         list(cfg.class_names), meta))
    return out


def list_checkpoints() -> list[Entry]:
    """Shipped checkpoints first, then published ones (a published name never hides a shipped one)."""
    shipped = _entries(SHIPPED_DIR, "shipped")
    taken = {e.name for e in shipped}
    return shipped + [e for e in _entries(published_dir(), "published") if e.name not in taken]


def names() -> list[str]:
    return [e.name for e in list_checkpoints()]


def resolve(name: str) -> Entry:
    """The catalogue entry for a name; ValueError for anything else (bad or unknown names)."""
    check_name(name)
    for e in list_checkpoints():
        if e.name == name:
            return e
    raise ValueError(f"unknown checkpoint {name!r}; available: {', '.join(names()) or 'none'}")


def publish(checkpoint: Path, name: str, note: dict[str, Any] | None = None) -> Entry:
    """Copy a run's checkpoint (generator + EMA + config) under a new name for the gallery and panel."""
    if name in {e.name for e in _entries(SHIPPED_DIR, "shipped")} | RESERVED:
        raise ValueError(f"{name!r} is the name of a shipped checkpoint; choose another")
    dst = child(published_dir(), name)
    copy_checkpoint(checkpoint, dst)
    if note:
        (dst / "published.json").write_text(json.dumps(note, indent=2), encoding="utf-8")
    return resolve(name)


def unpublish(name: str) -> None:
    import shutil

    entry = resolve(name)
    if entry.kind != "published":
        raise ValueError(f"{name!r} is shipped with the app and cannot be removed here")
    shutil.rmtree(entry.path)
