"""The run directory: the one contract between a training process and everything that watches it.

    RUN/
      config.json      RunConfig: everything needed to rebuild and resume
      metrics.jsonl    one JSON object per logged step (step, epoch, loss_d, loss_g, d_real,
                       d_fake, img_per_s, time, ...); readers tolerate a torn last line
      samples/         fixed-noise grids, step_000500.png
      checkpoints/     latest/ and best/, each a checkpoint folder
      status.json      state (queued|running|stopping|stopped|finished|failed), pid, step, error
      STOP             created by anyone who wants the run to stop after its current step
      train.log        the process's console output, when launched by the app
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from .config import RunConfig, load_json, save_json
from .errors import ConfigError

STATES = ("queued", "running", "stopping", "stopped", "finished", "failed")
ACTIVE_STATES = ("queued", "running", "stopping")
_SAMPLE_RE = re.compile(r"^step_(\d+)\.png$")


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

    # -- metrics ---------------------------------------------------------------------------
    def append_metrics(self, row: dict[str, Any]) -> None:
        line = json.dumps(row, allow_nan=True) + "\n"
        with open(self.metrics_path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()

    def read_metrics(self) -> list[dict[str, Any]]:
        """All complete rows; a torn or garbled line (a crash mid-write) is skipped."""
        rows: list[dict[str, Any]] = []
        try:
            with open(self.metrics_path, encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    if not line.endswith("\n"):
                        break  # torn last line
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    if isinstance(row, dict) and "step" in row:
                        rows.append(row)
        except FileNotFoundError:
            pass
        return rows

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
        if state not in STATES:
            raise ValueError(f"unknown run state {state!r}")
        status = self.read_status() or {}
        status.update(fields)
        status.update(state=state, updated=time.time())
        if state != "failed" and "error" not in fields:
            status.pop("error", None)  # a resumed run no longer carries its old failure
        save_json(status, self.status_path)
        return status

    def read_status(self) -> dict[str, Any]:
        try:
            status = load_json(self.status_path, "status")
        except ConfigError:
            return {}
        return status if isinstance(status, dict) else {}

    def state(self) -> str:
        """The run's state, with 'running' corrected to 'failed' when its process has died."""
        status = self.read_status()
        state = status.get("state", "queued" if self.exists() else "missing")
        if state in ("running", "stopping") and not pid_alive(status.get("pid")):
            return "failed"
        return state

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
