"""The run directory: the one contract between a training process and everything that watches it.
`RunDir` is the only reader and writer of these files.

    RUN/
      config.json      RunConfig: everything needed to rebuild and resume. Written before training
                       by `create` (the trainer, or the app for a "prepared" run the trainer then
                       trains as written); the trainer fills in the data-derived fields
      metrics.jsonl    one JSON object per logged step (step, epoch, loss_d, loss_g, d_real,
                       d_fake, img_per_s, time, ...); readers tolerate a torn last line
      samples/         fixed-noise grids, step_000500.png
      checkpoints/     latest/ and best/, each a checkpoint folder; with the guard, ring/step_NNNNNN/
                       (the last few healthy checkpoints it can roll back to)
      events.jsonl     the guard's and the user's actions on the run, one JSON object a line (time,
                       step, kind, evidence, action, ...), appended whole (one write of one line)
      status.json      written by the trainer (gan_core.training, gan_core.train) only:
                       state running | stopped | finished | failed, with pid, step, total_steps,
                       eta_s, device, error (failed only) and updated (unix time)
      STOP             created by anyone who wants the run to stop after its current step
      app.json         the app's own record, never read by the trainer: title, created, dataset
                       label, one record per launch (pid, at, kind start|resume, steps), and when
                       a stop / force stop was asked
      train.log        the process's console output, when launched by the app

The state a reader shows is derived from status.json, app.json and whether the pid is alive, by
one rule (`derive_state`), which adds the states the trainer cannot write itself: prepared,
starting, stopping and unknown (see there).
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .config import RunConfig, load_json, save_json
from .cli import error_line
from .errors import ConfigError, GanStudioError

WRITTEN_STATES = ("running", "stopped", "finished", "failed")  # what status.json may hold
STATES = ("prepared", "starting", "stopping", "unknown") + WRITTEN_STATES  # what a reader may see
ACTIVE_STATES = ("starting", "running", "stopping")  # a process is (or should be) alive
_SAMPLE_RE = re.compile(r"^step_(\d+)\.png$")
_RING_RE = re.compile(r"^step_(\d+)$")
RING = "ring"  # checkpoints/ring/step_NNNNNN: the guard's healthy checkpoints


@dataclass(frozen=True)
class RunState:
    state: str  # one of STATES
    error: str = ""  # why it failed (failed only)
    note: str = ""  # plain-language detail ("loading the dataset", "force-stopped: ...")

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES


def derive_state(status: dict[str, Any], meta: dict[str, Any], alive: Callable[[Any], bool],
                 has_config: bool) -> RunState:
    """The one rule for a run's state, from status.json, app.json and a pid-liveness function.

    - A launch (app.json) newer than status.json: "starting" while its process lives (importing,
      loading data), else "stopped" if a stop was asked, else "failed" (it died before training).
    - No status and no launch: "prepared" when config.json exists (written, never started), else
      "unknown".
    - status "running" whose process is gone: "stopped" after a force stop, else "failed".
    - status "running" with a stop asked since the last launch: "stopping".
    - otherwise what status.json says (running, stopped, finished, failed), with its note on how the
      run ended, if any ("time budget of 10 min reached": such a run finished).
    """
    launches = meta.get("launches") or []
    launch = launches[-1] if launches else None
    stop_at = float(meta.get("stop_requested_at") or 0)
    forced = bool(meta.get("force_stopped_at")) and float(meta["force_stopped_at"]) >= (launch or {}).get("at", 0)
    fresh = bool(status) and (launch is None or float(status.get("updated", 0)) >= float(launch["at"]) - 0.5)
    if launch is not None and not fresh:
        if alive(launch.get("pid")):
            resuming = launch.get("kind") == "resume"
            return RunState("starting", "", "resuming from the latest checkpoint, loading the data" if resuming
                            else "loading the dataset")
        if stop_at >= launch["at"] or forced:
            return RunState("stopped", "", "stopped before training began")
        return RunState("failed", "", "the training process exited before it started training")
    if not status:
        return RunState("prepared" if has_config else "unknown")
    state = str(status.get("state", "unknown"))
    if state not in WRITTEN_STATES:
        return RunState("unknown", "", f"status.json holds an unknown state {state!r}")
    if state == "running" and not alive(status.get("pid")):
        if forced:
            return RunState("stopped", "", "force-stopped: the steps since the last checkpoint are lost")
        return RunState("failed", str(status.get("error") or ""), "the training process ended unexpectedly")
    if state == "running" and stop_at and stop_at >= float((launch or {}).get("at", 0)):
        return RunState("stopping", "", "finishing the current step and saving a checkpoint")
    return RunState(state, str(status.get("error") or "") if state == "failed" else "", str(status.get("note") or ""))


def _metrics_row(line: str | bytes) -> dict[str, Any] | None:
    """One metrics.jsonl line as a row, or None for a garbled line or one without a step."""
    try:
        row = json.loads(line)
    except ValueError:
        return None
    return row if isinstance(row, dict) and "step" in row else None


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OSError, ValueError):
        return False
    try:  # a zombie child counts as dead
        with open(f"/proc/{int(pid)}/stat", encoding="ascii") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


class RunDir:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    # -- layout ----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def status_path(self) -> Path:
        return self.path / "status.json"

    @property
    def samples_dir(self) -> Path:
        return self.path / "samples"

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def stop_path(self) -> Path:
        return self.path / "STOP"

    @property
    def log_path(self) -> Path:
        return self.path / "train.log"

    def exists(self) -> bool:
        return self.config_path.is_file()

    def create(self, cfg: RunConfig) -> None:
        for d in (self.path, self.samples_dir, self.checkpoints_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.save_config(cfg)

    # -- config ----------------------------------------------------------------------------
    def save_config(self, cfg: RunConfig) -> None:
        save_json(cfg.to_dict(), self.config_path)

    def load_config(self) -> RunConfig:
        return RunConfig.from_dict(load_json(self.config_path, "run config"))

    def config_or_none(self) -> RunConfig | None:
        """The RunConfig, or None while it is not written or unreadable (for pages)."""
        try:
            return self.load_config()
        except (GanStudioError, OSError, ValueError, KeyError, TypeError):
            return None

    # -- metrics ---------------------------------------------------------------------------
    def append_metrics(self, row: dict[str, Any]) -> None:
        line = json.dumps(row, allow_nan=True) + "\n"
        with open(self.metrics_path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()

    def read_metrics(self) -> list[dict[str, Any]]:
        """All complete rows; a torn or garbled line (a crash mid-write) is skipped."""
        return self.metrics_since(0)[0]

    def last_metrics(self, max_bytes: int = 16384) -> dict[str, Any]:
        """The newest complete metrics row, read from the end of the file ({} if none)."""
        lines = self._tail_bytes(self.metrics_path, max_bytes).split("\n")
        for ln in reversed(lines[:-1]):  # the part after the last newline may be torn
            row = _metrics_row(ln)
            if row is not None:
                return row
        return {}

    def metrics_since(self, offset: int) -> tuple[list[dict[str, Any]], int, int]:
        """(rows, next offset, inode): the complete rows appended since byte `offset`, for readers
        that poll (a torn last line waits for the next call). A file that shrank or was replaced
        (trimmed on resume) gives offset -1 with no rows: read again from 0. No file: ([], 0, -1)."""
        try:
            st = os.stat(self.metrics_path)
        except OSError:
            return [], 0, -1
        if st.st_size < offset:
            return [], -1, st.st_ino
        if st.st_size == offset:
            return [], offset, st.st_ino
        with open(self.metrics_path, "rb") as fh:
            fh.seek(offset)
            chunk = fh.read(st.st_size - offset)
        end = chunk.rfind(b"\n")
        rows = [row for line in chunk[: end + 1].splitlines() if (row := _metrics_row(line)) is not None]
        return rows, offset + end + 1, st.st_ino

    def best_metrics(self) -> dict[str, Any]:
        """The metrics saved with the best checkpoint (lowest judge FD), {} when there is none.

        A plain read on purpose: `checkpoints.read_config` would repair a half-swapped folder by
        renaming it, which a reader must not do while the trainer may be saving."""
        try:
            raw = json.loads((self.checkpoint("best") / "config.json").read_text(encoding="utf-8"))
            metrics = (raw.get("meta") or {}).get("metrics")
        except (OSError, ValueError, AttributeError):
            return {}
        return metrics if isinstance(metrics, dict) and metrics.get("eval_fd") is not None else {}

    def repair_metrics(self, upto_step: int) -> int:
        """Rewrite metrics.jsonl keeping only whole rows with step <= upto_step (used on resume,
        so rows logged after the checkpoint we resume from are not duplicated). Returns rows kept."""
        if not self.metrics_path.exists():
            return 0
        rows = [r for r in self.read_metrics() if int(r.get("step", 0)) <= upto_step]
        tmp = self.metrics_path.with_name(f".metrics.jsonl.tmp-{os.getpid()}")
        with open(tmp, "w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r, allow_nan=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.metrics_path)
        return len(rows)

    # -- status ----------------------------------------------------------------------------
    def write_status(self, state: str, **fields: Any) -> dict[str, Any]:
        if state not in WRITTEN_STATES:
            raise ValueError(f"unknown run state {state!r}")
        status = self.read_status() or {}
        status.update(fields)
        status.update(state=state, updated=time.time())
        if state != "failed" and "error" not in fields:
            status.pop("error", None)  # a resumed run no longer carries its old failure
        if state != "finished":  # the guard's end-of-run verdict belongs to the finish that wrote it
            status.pop("verdict", None)
            status.pop("verdict_good", None)
        if "note" not in fields:  # how the run ended ("time budget ... reached") belongs to that end
            status.pop("note", None)
        save_json(status, self.status_path)
        return status

    def read_status(self) -> dict[str, Any]:
        try:
            status = load_json(self.status_path, "status")
        except ConfigError:
            return {}
        return status if isinstance(status, dict) else {}

    def run_state(self, status: dict[str, Any] | None = None, meta: dict[str, Any] | None = None) -> RunState:
        """The run's state by `derive_state`; a failure without an error text gets the log's.
        `status` and `meta` are status.json and app.json when the caller has read them already."""
        status = self.read_status() if status is None else status
        meta = self.read_app_meta() if meta is None else meta
        st = derive_state(status, meta, pid_alive, self.exists())
        if st.state == "failed" and not st.error:
            return RunState("failed", self.log_error() or st.note or "training failed", st.note)
        return st

    def state(self) -> str:
        return self.run_state().state

    def started(self) -> bool:
        """Whether a trainer has ever trained here (a status, metrics or a checkpoint exist)."""
        return self.status_path.exists() or self.metrics_path.exists() or self.has_checkpoint("latest")

    # -- the app's record (app.json) -------------------------------------------------------
    @property
    def app_meta_path(self) -> Path:
        return self.path / "app.json"

    def read_app_meta(self) -> dict[str, Any]:
        try:
            meta = json.loads(self.app_meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return meta if isinstance(meta, dict) else {}

    def write_app_meta(self, meta: dict[str, Any]) -> None:
        save_json(meta, self.app_meta_path)

    def update_app_meta(self, **changes: Any) -> dict[str, Any]:
        """Set (or, with None, remove) app.json keys; returns the new record."""
        meta = self.read_app_meta()
        for k, v in changes.items():
            if v is None:
                meta.pop(k, None)
            else:
                meta[k] = v
        self.write_app_meta(meta)
        return meta

    def record_launch(self, pid: int, at: float, kind: str, steps: int) -> None:
        meta = self.read_app_meta()
        meta.setdefault("launches", []).append({"pid": pid, "at": at, "kind": kind, "steps": steps})
        self.write_app_meta(meta)

    # -- the console log (train.log) -------------------------------------------------------
    def log_tail(self, lines: int = 20, max_bytes: int = 65536) -> str:
        """The last lines of train.log (progress lines included)."""
        text = self._tail_bytes(self.log_path, max_bytes)
        return "\n".join(text.replace("\r", "\n").splitlines()[-lines:])

    def log_error(self) -> str:
        """The trainer's one-line error ("error: ..."), or the last line of its log."""
        return error_line(self.log_tail(200))

    @staticmethod
    def _tail_bytes(path: Path, max_bytes: int) -> str:
        try:
            with open(path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - max_bytes))
                return fh.read().decode("utf-8", "replace")
        except OSError:
            return ""

    # -- stop requests ---------------------------------------------------------------------
    def request_stop(self) -> None:
        self.stop_path.touch()

    def stop_requested(self) -> bool:
        return self.stop_path.exists()

    def clear_stop(self) -> None:
        self.stop_path.unlink(missing_ok=True)

    # -- samples and checkpoints -----------------------------------------------------------
    def sample_path(self, step: int) -> Path:
        return self.samples_dir / f"step_{step:06d}.png"

    def samples(self) -> list[tuple[int, Path]]:
        """(step, path) of every fixed-noise grid, in step order."""
        if not self.samples_dir.is_dir():
            return []
        out = []
        for p in self.samples_dir.iterdir():
            m = _SAMPLE_RE.match(p.name)
            if m:
                out.append((int(m.group(1)), p))
        return sorted(out)

    def checkpoint(self, which: str = "latest") -> Path:
        return self.checkpoints_dir / which

    def has_checkpoint(self, which: str = "latest") -> bool:
        p = self.checkpoint(which)
        return (p / "config.json").is_file() or (p.with_name(f"{which}.old") / "config.json").is_file()

    # -- events (events.jsonl) and the guard's ring of healthy checkpoints -------------------
    @property
    def events_path(self) -> Path:
        return self.path / "events.jsonl"

    def append_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """Append one event (a `time` is added when missing). The line goes out in one O_APPEND
        write and is fsynced, so readers never see half an event from a finished write and a crash
        leaves at most a torn last line, which `read_events` skips."""
        event = {"time": round(time.time(), 3), **event}
        data = (json.dumps(event, allow_nan=True) + "\n").encode("utf-8")
        fd = os.open(self.events_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        return event

    def read_events(self) -> list[dict[str, Any]]:
        """Every complete event, oldest first (a torn or garbled line is skipped)."""
        try:
            raw = self.events_path.read_bytes()
        except OSError:
            return []
        out = []
        for line in raw.split(b"\n"):
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if isinstance(ev, dict) and "kind" in ev:
                out.append(ev)
        return out

    def last_event(self) -> dict[str, Any]:
        events = self.read_events()
        return events[-1] if events else {}

    def ring_checkpoint(self, step: int) -> Path:
        return self.checkpoints_dir / RING / f"step_{int(step):06d}"

    def ring_steps(self) -> list[int]:
        """Steps of the ring's complete checkpoints, oldest first."""
        ring = self.checkpoints_dir / RING
        if not ring.is_dir():
            return []
        return sorted(int(m.group(1)) for p in ring.iterdir()
                      if (m := _RING_RE.match(p.name)) and (p / "config.json").is_file())

    def checkpoint_names(self) -> list[str]:
        """Every checkpoint a user may roll back to or branch from: latest, best, ring/step_N."""
        names = [w for w in ("latest", "best") if self.has_checkpoint(w)]
        return names + [f"{RING}/step_{s:06d}" for s in reversed(self.ring_steps())]
