"""Publish a run's checkpoint under a catalogue name (for the gallery and the Explore panel), or
take it back; both are the owner's (ui.roles). A run is *published* while a published checkpoint
names it (`published.json`'s "run"): visitors see published runs only (ui.visibility)."""

from __future__ import annotations

import time
from typing import Any

from gan_core.runs import RunDir

from . import paths, roles
from .run_control import JobError
from .run_views import run_info


def publish(name: str, publish_name: str, which: str = "best", replace: bool = False) -> Any:
    """JobError with a readable line for bad names, shipped names, an existing name (unless
    `replace`) or a run without checkpoints. Returns the catalogue entry."""
    from gan_core.errors import GanStudioError

    from . import catalog
    from .services import hub

    roles.require_owner("publish a model")
    info = run_info(name)
    rd = RunDir(info.path)
    if not rd.has_checkpoint(which):
        which = "latest"
    if not rd.has_checkpoint(which):
        raise JobError(f"{info.title} has no checkpoint yet; let it train past its first checkpoint")
    try:
        paths.check_name(publish_name)
    except ValueError as exc:
        raise JobError(str(exc)) from None
    existing = {e.name: e for e in catalog.list_checkpoints()}
    if publish_name in existing and existing[publish_name].kind == "published" and not replace:
        raise JobError(f"{publish_name!r} is already published; tick 'replace' to overwrite it")
    note = {"run": info.name, "title": info.title, "dataset": info.dataset, "step": info.step,
            "checkpoint": which, "published": time.time()}
    try:
        entry = catalog.publish(rd.checkpoint(which), publish_name, note)
    except (GanStudioError, ValueError, OSError) as exc:
        raise JobError(str(exc)) from None
    hub().forget(publish_name)
    return entry


def unpublish(publish_name: str) -> None:
    """Remove a published checkpoint (JobError for shipped or unknown names)."""
    from . import catalog
    from .services import hub

    roles.require_owner("unpublish a model")
    try:
        catalog.unpublish(publish_name)
    except ValueError as exc:
        raise JobError(str(exc)) from None
    hub().forget(publish_name)


def published_runs() -> set[str]:
    """Names of the runs that have a published checkpoint."""
    import json

    from . import catalog

    out = set()
    for e in catalog.list_checkpoints():
        if e.kind != "published":
            continue
        try:
            note = json.loads((e.path / "published.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(note, dict) and note.get("run"):
            out.add(str(note["run"]))
    return out
