"""What a run looks like to the app: `RunInfo`, read from the run folder by `gan_core.runs.RunDir`
(state by its one rule), and the lists the pages show. Reads only; nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gan_core.runs import ACTIVE_STATES, RunDir

from . import paths


@dataclass
class RunInfo:
    name: str  # folder name under runs/ (the id pages pass around)
    path: Path
    title: str  # display name
    state: str  # one of gan_core.runs.STATES
    error: str = ""
    step: int = 0
    total_steps: int = 0
    eta_s: float | None = None
    device: str = ""
    dataset: str = ""
    model: str = ""
    image_size: int = 0
    created: float = 0.0
    pid: int | None = None
    last: dict[str, Any] = field(default_factory=dict)
    best: dict[str, Any] = field(default_factory=dict)  # metrics row of checkpoints/best (judged runs)
    has_checkpoint: bool = False
    note: str = ""  # extra plain-language state detail

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def run(self) -> RunDir:
        """The run folder's reader (log tail, samples, config, metrics)."""
        return RunDir(self.path)

    @property
    def can_resume(self) -> bool:
        return not self.active and self.has_checkpoint

    @property
    def progress(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0


def run_dir(name: str) -> RunDir:
    """The run folder called `name` under the app's runs folder (ValueError for unknown or unsafe names)."""
    path = paths.child(paths.runs_dir(), name)
    if not path.is_dir():
        raise ValueError(f"no run named {name!r}")
    return RunDir(path)


def run_info(name: str) -> RunInfo:
    """Everything the pages show about one run (ValueError for an unknown name)."""
    return info_of(run_dir(name))


def info_of(rd: RunDir) -> RunInfo:
    from .run_control import reap  # children that have exited must not look alive

    reap()
    meta = rd.read_app_meta()
    status = rd.read_status()
    st = rd.run_state(status, meta)
    cfg = rd.config_or_none()
    launches = meta.get("launches") or []
    last = rd.last_metrics()
    step = int(status.get("step") or last.get("step") or 0)
    launch_steps = int(launches[-1].get("steps") or 0) if launches else 0
    total = int((launch_steps if st.state == "starting" else 0) or status.get("total_steps") or launch_steps
                or (cfg.train.steps if cfg else 0))
    return RunInfo(
        name=rd.name, path=rd.path, title=str(meta.get("title") or rd.name), state=st.state, error=st.error,
        step=step, total_steps=total,
        eta_s=status.get("eta_s") if st.state == "running" else None, device=str(status.get("device") or ""),
        dataset=str(meta.get("dataset_label") or (cfg.data.source if cfg else "")),
        model=cfg.model.arch if cfg else "", image_size=cfg.model.image_size if cfg else 0,
        created=float(meta.get("created") or _mtime(rd.path)),
        pid=(launches[-1].get("pid") if launches else status.get("pid")),
        last=last, best=rd.best_metrics(), has_checkpoint=rd.has_checkpoint("latest"), note=st.note)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def list_runs() -> list[RunInfo]:
    """Every run under the app's runs folder, newest first (unreadable ones skipped)."""
    out = []
    for p in paths.runs_dir().iterdir():
        if not p.is_dir() or p.name.startswith("."):
            continue
        try:
            out.append(run_info(p.name))
        except (ValueError, OSError):
            continue
    return sorted(out, key=lambda r: r.created, reverse=True)


def active_runs() -> list[RunInfo]:
    return [r for r in list_runs() if r.active]


def checkpoints(name: str) -> list[tuple[str, int]]:
    """(which, step) of every checkpoint of a run a user may roll back to or branch from, newest
    first: latest, best, the guard's ring. Unreadable ones are left out."""
    from gan_core.errors import GanStudioError
    from gan_core.lineage import checkpoint_step

    rd = run_dir(name)
    out = []
    for which in rd.checkpoint_names():
        try:
            out.append((which, checkpoint_step(rd, which)))
        except (GanStudioError, OSError, ValueError):
            continue
    return out
