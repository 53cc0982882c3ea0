"""Training processes: launch, stop, resume, force-stop, delete and calibrate `python -m gan_core.train`.

The app writes a run's RunConfig with `RunDir.create` and starts the trainer on that folder
(`--out RUN`: a prepared run, trained as written); a resume is `--resume --out RUN --steps N`.
The run folder is the only source of truth (see gan_core.runs), so closing the browser or
restarting the server re-attaches to running jobs. This module keeps only the table of the
children it started, to collect their exit codes.

Stopping is polite first: a STOP file (the trainer finishes its step, checkpoints and exits
"stopped"); if the process is still alive after `STOP_GRACE_S`, SIGTERM (same effect, also
works while the data is still loading). SIGKILL only when the user presses "Force stop".
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from gan_core.cli import error_line
from gan_core.config import RunConfig
from gan_core.cores import available_cores
from gan_core.runs import RunDir, pid_alive

from . import paths, quotas, roles
from .admission import admission
from .run_views import RunInfo, active_runs, info_of, run_dir, run_info

STOP_GRACE_S = 20.0


class JobError(Exception):
    """A job request the app refuses; carries one readable line for the page."""


def default_threads(cores: int | None = None, use_all: bool = False) -> int:
    """Trainer threads: every core but one by default, so the live page stays responsive.
    Cores are those this process may use (affinity and the container's CPU quota)."""
    cores = cores or available_cores()
    return cores if use_all else max(1, cores - 1)


def has_judge(dataset: str) -> bool:
    """Whether the trainer can judge this dataset's samples as it trains: MNIST and ORL faces with
    their shipped judges, any other dataset with one trained on its images (or a label-free embedding)."""
    from gan_core.evaluate import can_judge  # torch loads only when asked

    return can_judge(dataset)


def _room(adding: int, what: str) -> None:
    try:
        quotas.check_disk(adding, what)
    except quotas.QuotaError as exc:
        raise JobError(str(exc)) from None


def _admit(cuda: bool = False) -> None:
    adm = admission(len(active_runs()), cuda=cuda)
    if not adm.allowed:
        raise JobError(adm.message)


# -- the children this server started -----------------------------------------------------------
_procs: dict[int, subprocess.Popen[bytes]] = {}
_procs_lock = threading.Lock()


def reap() -> None:
    """Collect exit codes of finished children (so no zombie looks alive)."""
    with _procs_lock:
        for pid, proc in list(_procs.items()):
            if proc.poll() is not None:
                del _procs[pid]


def trainer_command(gpus: int = 1) -> list[str]:
    """The command that starts the trainer: one process, or torchrun with one process per GPU."""
    if gpus > 1:
        return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={gpus}",
                "-m", "gan_core.train"]
    return [sys.executable, "-m", "gan_core.train"]


def _spawn(rd: RunDir, argv: list[str], kind: str, steps: int, gpus: int = 1) -> int:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    cmd = trainer_command(gpus)
    with open(rd.log_path, "ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {kind}: {' '.join(cmd[1:])} "
                  f"{' '.join(argv)}\n".encode())
        log.flush()
        at = time.time()
        proc = subprocess.Popen([*cmd, *argv], cwd=paths.PROJECT_ROOT,
                                env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    with _procs_lock:
        _procs[proc.pid] = proc
    rd.record_launch(proc.pid, at, kind, steps)
    return proc.pid


def launch(cfg: RunConfig, title: str, dataset_label: str = "", gpus: int = 1, cuda: bool = False) -> RunInfo:
    """Write `cfg` into a new run folder and start training it; JobError when refused."""
    roles.require_owner("start a training")
    if not cfg.data.source:
        raise JobError("choose a dataset first (Data page)")
    _admit(cuda)
    _room(quotas.run_bytes(cfg), "a new run")
    label = dataset_label or cfg.data.source
    path = paths.unique_child(paths.runs_dir(), title or f"{label}-{cfg.model.arch}", fallback="run")
    rd = RunDir(path)
    if gpus > 1:  # torchrun gives each process one thread (OMP_NUM_THREADS=1); threads 0 keeps that
        cfg.train.threads = 0
    rd.create(cfg)
    rd.write_app_meta({"title": title.strip() or path.name, "created": time.time(), "dataset_label": label,
                       "gpus": gpus, "launches": []})
    _spawn(rd, ["--out", str(path)], "start", cfg.train.steps, gpus)
    return info_of(rd)


def resume(name: str, total_steps: int, threads: int | None = None, device: str | None = None,
           cuda: bool = False) -> RunInfo:
    """Continue a stopped/finished/failed run from its latest checkpoint up to `total_steps`."""
    roles.require_owner("resume a training")
    info = run_info(name)
    if info.active:
        raise JobError(f"{info.title} is still {info.state}; stop it before resuming")
    if not info.has_checkpoint:
        raise JobError(f"{info.title} has no checkpoint yet, so it cannot be resumed; start a new run")
    if total_steps <= info.step:
        raise JobError(f"{info.title} is already at step {info.step:,}; choose more than {info.step:,} steps")
    _admit(cuda)
    _room(0, f"resuming {info.title}")  # a resume rewrites its checkpoints: refused only when already over
    rd = RunDir(info.path)
    cfg = rd.config_or_none()
    threads = threads if threads is not None else (cfg.train.threads if cfg else default_threads())
    device = device or (cfg.train.device if cfg else "auto")
    meta = rd.update_app_meta(stop_requested_at=None, force_stopped_at=None, sigterm_at=None)
    rd.clear_stop()
    _spawn(rd, ["--resume", "--out", str(rd.path), "--steps", str(int(total_steps)), "--threads", str(threads),
                "--device", device], "resume", int(total_steps),
           int(meta.get("gpus") or (meta.get("spec") or {}).get("gpus") or 1))  # "spec": runs from before RunConfig
    return run_info(name)


def stop(name: str, grace_s: float = STOP_GRACE_S) -> RunInfo:
    """Ask a run to stop after its current step; SIGTERM follows if it is still alive after grace_s."""
    roles.require_owner("stop a training")
    info = run_info(name)
    if not info.active:
        return info
    rd = RunDir(info.path)
    rd.update_app_meta(stop_requested_at=time.time())
    rd.request_stop()
    if info.state == "starting":  # not training yet: nothing to save, the STOP file is not read yet
        _signal(info.pid, signal.SIGTERM)
    elif grace_s >= 0:
        timer = threading.Timer(grace_s, _escalate, args=(rd, grace_s))
        timer.daemon = True
        timer.start()
    return run_info(name)


def escalate(name: str, grace_s: float = STOP_GRACE_S) -> bool:
    """SIGTERM a run whose stop request is older than grace_s and which is still alive."""
    roles.require_owner("stop a training")
    try:
        rd = run_dir(name)
    except ValueError:
        return False
    return _escalate(rd, grace_s)


def _escalate(rd: RunDir, grace_s: float) -> bool:
    if not rd.path.is_dir():
        return False
    info = info_of(rd)
    meta = rd.read_app_meta()
    asked = float(meta.get("stop_requested_at") or 0)
    if asked and info.active and time.time() - asked >= grace_s and not meta.get("sigterm_at"):
        rd.update_app_meta(sigterm_at=time.time())
        return _signal(info.pid, signal.SIGTERM)
    return False


def force_stop(name: str) -> RunInfo:
    """SIGKILL (the user asked for it): no checkpoint of the current step is written."""
    roles.require_owner("force-stop a training")
    info = run_info(name)
    if info.active:
        RunDir(info.path).update_app_meta(force_stopped_at=time.time())
        _signal(info.pid, signal.SIGKILL)
        for _ in range(50):
            reap()
            if not pid_alive(info.pid):
                break
            time.sleep(0.05)
    return run_info(name)


def _signal(pid: int | None, sig: int) -> bool:
    if not pid or not pid_alive(pid):
        return False
    try:
        os.kill(int(pid), sig)
        return True
    except OSError:
        return False


def tick() -> None:
    """Housekeeping the live pages call (for any viewer): reap children, escalate overdue stop
    requests (only ones the owner made)."""
    reap()
    for info in active_runs():
        rd = RunDir(info.path)
        if rd.read_app_meta().get("stop_requested_at"):
            _escalate(rd, STOP_GRACE_S)


def delete(name: str) -> None:
    """Remove a run folder; refused while it runs."""
    roles.require_owner("delete a run")
    info = run_info(name)
    if info.active:
        raise JobError(f"{info.title} is {info.state}; stop it before deleting it")
    shutil.rmtree(info.path)


def rename(name: str, title: str) -> None:
    roles.require_owner("rename a run")
    run_dir(name).update_app_meta(title=title.strip() or name)


def calibrate(cfg: RunConfig, steps: int = 20, timeout_s: float = 300.0) -> dict[str, Any]:
    """Time `steps` training steps of `cfg` in a throw-away subprocess (a prepared run folder
    trained with --dry-run, which writes nothing); the estimate as a dict."""
    roles.require_owner("time a training")  # it runs the trainer for a while
    scratch = paths.app_home() / ".calibration" / f"{os.getpid()}-{threading.get_ident()}"
    shutil.rmtree(scratch, ignore_errors=True)
    RunDir(scratch).create(cfg)
    cmd = [sys.executable, "-m", "gan_core.train", "--out", str(scratch), "--dry-run",
           "--calibration-steps", str(steps), "--json"]
    try:
        out = subprocess.run(cmd, cwd=paths.PROJECT_ROOT, capture_output=True, text=True, timeout=timeout_s,
                             env=dict(os.environ, PYTHONUNBUFFERED="1"), stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise JobError(f"the estimate took longer than {timeout_s:.0f} s; the dataset may be very large "
                       "(the first load decodes every image once) or the machine is busy") from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if out.returncode != 0:
        raise JobError(error_line(out.stderr) or f"the estimate failed (exit code {out.returncode})")
    for ln in reversed(out.stdout.splitlines()):
        try:
            est = json.loads(ln)
        except ValueError:
            continue
        if isinstance(est, dict):
            return est
    raise JobError("the estimate printed no result")


def samples(run: Path) -> list[tuple[int, Path]]:
    """(step, png) of a run's fixed-noise grids, oldest first."""
    return RunDir(run).samples()


# -- branches and rollbacks (gan_core.lineage) ----------------------------------------------------
def branch(name: str, which: str, title: str, changes: dict[str, Any], start: bool = True,
           threads: int | None = None, cuda: bool = False) -> RunInfo:
    """A new run from `name`'s checkpoint `which` with edited training settings (options by dotted
    name, `train.steps` the new target), started at once unless `start` is False."""
    roles.require_owner("branch a run")
    from gan_core.errors import GanStudioError
    from gan_core.lineage import branch as make_branch

    parent = run_info(name)
    path = paths.unique_child(paths.runs_dir(), title or f"{name}-branch", fallback="branch")
    try:
        cfg = make_branch(RunDir(parent.path), which, RunDir(path), changes)
    except GanStudioError as exc:
        raise JobError(str(exc)) from None
    RunDir(path).write_app_meta({"title": title.strip() or path.name, "created": time.time(),
                                 "dataset_label": parent.dataset, "gpus": 1, "launches": []})
    if start:
        return resume(path.name, cfg.train.steps, threads=threads, cuda=cuda)
    return run_info(path.name)


def roll_back(name: str, which: str) -> int:
    """Make checkpoint `which` the run's latest (refused while it trains); returns its step."""
    roles.require_owner("roll back a run")
    from gan_core.errors import GanStudioError
    from gan_core.lineage import roll_back as roll

    info = run_info(name)
    if info.active:
        raise JobError(f"{info.title} is {info.state}; stop it before rolling it back")
    try:
        return roll(RunDir(info.path), which)
    except GanStudioError as exc:
        raise JobError(str(exc)) from None
