"""Which run a page is about: the Monitor's watched run, the run a stopped Monitor offers to follow,
and the run Runs' "Manage a run" opens on. Pure decisions on run names and times (no Streamlit), so
every rule is unit-tested; the pages pass in what they read.

Rules:
- A tab keeps the run its user watches. Only the user changes it (picking another run, starting
  one from this tab's Train page, or following an offer); another tab starting a training never
  does. The watched run is in the URL (`?run=<folder>`) too, so a reload keeps it.
- A Monitor watching a run that is not active offers to follow a run started (or resumed) after
  the watched one last started, when one is active now: the newest such.
- "Manage a run" opens on the run the user came from: the URL's `?run=` (a link from the Monitor),
  else the run this tab watches, else the newest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

RUN_PARAM = "run"


@dataclass(frozen=True)
class RunStart:
    """A run as these rules see it: its folder name, when it last started (created or resumed), and
    whether a trainer is working on it now."""
    name: str
    started_at: float
    active: bool


def watched(names: Sequence[str], session_run: str | None, url_run: str | None,
            active: Sequence[str] = ()) -> str | None:
    """The run a Monitor shows: this tab's run, else the URL's (a reload or a link), else the newest
    active run, else the newest run (`names` newest first). None when there are no runs."""
    for candidate in (session_run, url_run):
        if candidate and candidate in names:
            return candidate
    for name in names:
        if name in active:
            return name
    return names[0] if names else None


def follow_offer(watched_run: str, runs: Sequence[RunStart]) -> str | None:
    """The run to offer following: the newest active run started after the watched run last started,
    when the watched run itself is not active; else None."""
    by_name = {r.name: r for r in runs}
    me = by_name.get(watched_run)
    if me is None or me.active:
        return None
    newer = [r for r in runs if r.active and r.name != watched_run and r.started_at > me.started_at]
    return max(newer, key=lambda r: r.started_at).name if newer else None


def manage_default(names: Sequence[str], url_run: str | None, came_from: str | None) -> str | None:
    """The run "Manage a run" opens on: the URL's, else the one this tab watched, else the newest."""
    for candidate in (url_run, came_from):
        if candidate and candidate in names:
            return candidate
    return names[0] if names else None


def last_start(created: float, launches: Sequence[dict]) -> float:
    """When a run last started: its newest launch (start or resume) record, else its creation."""
    times = [float(x.get("at") or 0.0) for x in launches if isinstance(x, dict)]
    return max([created, *times])


def starts(runs: Sequence[object]) -> list[RunStart]:
    """`RunStart`s of the pages' RunInfo objects (each run's launch records read from its app.json)."""
    out = []
    for r in runs:
        launches = r.run.read_app_meta().get("launches") or []  # type: ignore[attr-defined]
        out.append(RunStart(r.name, last_start(r.created, launches), r.active))  # type: ignore[attr-defined]
    return out
