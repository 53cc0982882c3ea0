"""Training jobs: launch, stop, resume, list and delete `python -m gan_core.train` subprocesses.

The run directory is the only source of truth. The app adds two files the trainer never
touches: `app.json` (display name, dataset label, creation time, one record per launch) and
`train.log` (the process's console output). Everything a page shows is derived from disk, so
closing the browser or restarting the server re-attaches to running jobs: a job's state comes
from status.json, the launch records and whether the pid is alive.

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
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from gan_core.runs import RunDir, pid_alive

from . import paths

STOP_GRACE_S = 20.0
ACTIVE = ("starting", "queued", "running", "stopping")
APP_META = "app.json"


class JobError(Exception):
    """A job request the app refuses; carries one readable line for the page."""


# -- what to train ------------------------------------------------------------------------
@dataclass
class TrainSpec:
    """Everything the Train page chooses; `args()` turns it into trainer flags."""

    dataset: str  # --dataset: built-in name, folder or .zip
    dataset_label: str = ""  # what people see ("MNIST", "upload: cats")
    model: str = "dcgan"
    image_size: int = 64
    loss: str = "bce"
    steps: int = 5000
    epochs: float = 0.0  # > 0: train for this many epochs instead of `steps`
    batch_size: int = 64
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    ema: float = 0.999
    diffaug: str = ""
    hflip: bool = False
    label_smoothing: float = 0.0
    aux_weight: float = 1.0  # ACGAN: weight of the class loss
    aux_real_only: bool = False  # ACGAN: D's classifier learns from real images only
    eval_every: int = 0  # light judge evaluation every N steps (built-in datasets; 0 = off)
    r1: float = 0.0  # R1 penalty weight gamma on real images (0 = off; not with wgan-gp)
    nz: int = 100
    ngf: int = 64
    ndf: int = 0
    device: str = "auto"
    precision: str = "auto"
    threads: int = 0  # 0 = every core
    seed: int = 0
    log_every: int = 50
    sample_every: int = 500
    ckpt_every: int = 1000
    gpus: int = 1  # > 1: one process per GPU under torchrun (DistributedDataParallel)

    def args(self) -> list[str]:
        """The trainer's command-line flags for a new run (without --out)."""
        a = ["--dataset", self.dataset, "--model", self.model, "--image-size", str(self.image_size),
             "--loss", self.loss, "--batch-size", str(self.batch_size),
             "--lr-g", _num(self.lr_g), "--lr-d", _num(self.lr_d), "--beta1", _num(self.beta1),
             "--ema", _num(self.ema), "--nz", str(self.nz), "--ngf", str(self.ngf),
             "--device", self.device, "--precision", self.precision, "--threads", str(self.threads),
             "--seed", str(self.seed), "--log-every", str(self.log_every),
             "--sample-every", str(self.sample_every), "--ckpt-every", str(self.ckpt_every)]
        a += ["--epochs", _num(self.epochs)] if self.epochs > 0 else ["--steps", str(self.steps)]
        if self.ndf:
            a += ["--ndf", str(self.ndf)]
        if self.diffaug:
            a += ["--diffaug", self.diffaug]
        if self.hflip:
            a.append("--hflip")
        if self.label_smoothing:
            a += ["--label-smoothing", _num(self.label_smoothing)]
        if self.model == "acgan":
            if self.aux_weight != 1.0:
                a += ["--aux-weight", _num(self.aux_weight)]
            if self.aux_real_only:
                a.append("--aux-real-only")
        if self.r1 > 0 and self.loss != "wgan-gp":
            a += ["--r1", _num(self.r1)]
        if self.eval_every > 0 and has_judge(self.dataset):
            a += ["--eval-every", str(self.eval_every)]
        return a

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainSpec":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def has_judge(dataset: str) -> bool:
    """Whether the trainer can judge this dataset's samples as it trains (MNIST and ORL faces)."""
    from gan_core.evaluate import has_judge as judged  # torch loads only when asked

    return judged(dataset)


def _num(x: float) -> str:
    return repr(float(x))


def default_threads(cores: int | None = None, use_all: bool = False) -> int:
    """Trainer threads: every core but one by default, so the live page stays responsive."""
    cores = cores or os.cpu_count() or 1
    return cores if use_all else max(1, cores - 1)


# -- what a run looks like to the app -----------------------------------------------------
@dataclass
class RunInfo:
    name: str  # folder name under runs/ (the id pages pass around)
    path: Path
    title: str  # display name
    state: str  # starting|queued|running|stopping|stopped|finished|failed|unknown
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
        return self.state in ACTIVE

    @property
    def can_resume(self) -> bool:
        return not self.active and self.has_checkpoint

    @property
    def progress(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0


def read_meta(run: Path) -> dict[str, Any]:
    try:
        meta = json.loads((run / APP_META).read_text(encoding="utf-8"))
        return meta if isinstance(meta, dict) else {}
    except (OSError, ValueError):
        return {}


def write_meta(run: Path, meta: dict[str, Any]) -> None:
    tmp = run / f".{APP_META}.tmp-{os.getpid()}-{threading.get_ident()}"
    tmp.write_text(json.dumps(meta, indent=2), encoding="utf-8")
    os.replace(tmp, run / APP_META)


def log_tail(run: Path, lines: int = 20, max_bytes: int = 65536) -> str:
    """The last lines of train.log (progress lines included)."""
    try:
        with open(run / "train.log", "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.replace("\r", "\n").splitlines()[-lines:])


def log_error(run: Path) -> str:
    """The trainer's one-line error ("error: ..."), or the last line of its log."""
    tail = [ln.strip() for ln in log_tail(run, 200).splitlines() if ln.strip()]
    for ln in reversed(tail):
        if ln.startswith("error: "):
            return ln[len("error: "):]
    for ln in reversed(tail):
        if ln.startswith(("Traceback", "  File")):
            continue
        return ln
    return ""


def derive_state(status: dict[str, Any], meta: dict[str, Any], alive: Any,
                 has_config: bool) -> tuple[str, str, str]:
    """(state, error, note) from status.json, app.json and a pid-liveness function.

    Pure (besides `alive`), so the rules are unit-tested: a launch newer than the status
    file means the trainer is still starting (loading data) or died before it could write one.
    """
    launches = meta.get("launches") or []
    launch = launches[-1] if launches else None
    stop_at = float(meta.get("stop_requested_at") or 0)
    forced = bool(meta.get("force_stopped_at")) and float(meta["force_stopped_at"]) >= (launch or {}).get("at", 0)
    fresh = bool(status) and (launch is None or float(status.get("updated", 0)) >= float(launch["at"]) - 0.5)
    if launch is not None and not fresh:
        if alive(launch.get("pid")):
            resuming = launch.get("kind") == "resume"
            return "starting", "", ("resuming from the latest checkpoint, loading the data" if resuming
                                    else "loading the dataset")
        if stop_at >= launch["at"] or forced:
            return "stopped", "", "stopped before training began"
        return "failed", "", "the training process exited before it started training"
    if not status:
        return ("queued" if has_config else "unknown"), "", ""
    state = str(status.get("state", "unknown"))
    if state in ("running", "stopping", "queued") and not alive(status.get("pid")):
        if forced:
            return "stopped", "", "force-stopped: the steps since the last checkpoint are lost"
        return "failed", str(status.get("error") or ""), "the training process ended unexpectedly"
    if state == "running" and stop_at >= float((launch or {}).get("at", 0)) and stop_at:
        return "stopping", "", "finishing the current step and saving a checkpoint"
    return state, str(status.get("error") or "") if state == "failed" else "", ""


def run_info(name: str) -> RunInfo:
    """Everything the pages show about one run (ValueError for an unknown name)."""
    path = paths.child(paths.runs_dir(), name)
    if not path.is_dir():
        raise ValueError(f"no run named {name!r}")
    return _info(path)


def _info(path: Path) -> RunInfo:
    reap()
    rd = RunDir(path)
    meta = read_meta(path)
    status = rd.read_status()
    state, error, note = derive_state(status, meta, pid_alive, rd.exists())
    if state == "failed" and not error:
        error = log_error(path) or note or "training failed"
    cfg: dict[str, Any] = {}
    try:
        cfg = json.loads(rd.config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    spec = meta.get("spec") or {}
    model = cfg.get("model", {})
    launches = meta.get("launches") or []
    rows = _last_row(rd.metrics_path)
    step = int(status.get("step") or rows.get("step") or 0)
    launch_steps = int(launches[-1].get("steps") or 0) if launches else 0
    total = int((launch_steps if state == "starting" else 0) or status.get("total_steps") or launch_steps
                or cfg.get("train", {}).get("steps") or spec.get("steps") or 0)
    return RunInfo(
        name=path.name, path=path, title=str(meta.get("title") or path.name), state=state, error=error,
        step=step, total_steps=total,
        eta_s=status.get("eta_s") if state == "running" else None, device=str(status.get("device") or ""),
        dataset=str(meta.get("dataset_label") or cfg.get("data", {}).get("source") or spec.get("dataset") or ""),
        model=str(model.get("arch") or spec.get("model") or ""),
        image_size=int(model.get("image_size") or spec.get("image_size") or 0),
        created=float(meta.get("created") or _ctime(path)),
        pid=(launches[-1].get("pid") if launches else status.get("pid")),
        last=rows, best=_best_metrics(rd), has_checkpoint=rd.has_checkpoint("latest"), note=note)


def _best_metrics(rd: RunDir) -> dict[str, Any]:
    """The metrics saved with the run's best checkpoint (lowest judge FD), {} when there is none.

    A plain read on purpose: `checkpoints.read_config` would repair a half-swapped folder by
    renaming it, which a page must not do while the trainer may be saving."""
    try:
        meta = json.loads((rd.checkpoint("best") / "config.json").read_text(encoding="utf-8")).get("meta") or {}
    except (OSError, ValueError, AttributeError):
        return {}
    metrics = meta.get("metrics")
    return metrics if isinstance(metrics, dict) and metrics.get("eval_fd") is not None else {}


def _ctime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _last_row(metrics: Path, max_bytes: int = 16384) -> dict[str, Any]:
    """The newest complete metrics row, read from the end of the file."""
    try:
        with open(metrics, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            lines = fh.read().decode("utf-8", "replace").split("\n")
    except OSError:
        return {}
    for ln in reversed(lines[:-1]):  # the part after the last newline may be torn
        try:
            row = json.loads(ln)
        except ValueError:
            continue
        if isinstance(row, dict) and "step" in row:
            return row
    return {}


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


# -- admission: how many trainings at once ------------------------------------------------
@dataclass
class Admission:
    allowed: bool
    message: str = ""  # a warning when allowed, the reason when refused


def admission(active: int, cores: int | None = None, cuda: bool = False) -> Admission:
    """Concurrency rule. CPU: one more job is allowed with a warning (they share cores), up to
    max(2, cores // 4) at once; CUDA: up to 2 at once (they share GPU memory)."""
    cores = cores or os.cpu_count() or 1
    limit = 2 if cuda else max(2, cores // 4)
    if active >= limit:
        return Admission(False, f"{active} trainings are already running; this machine allows at most "
                                f"{limit} at once. Stop one on the Monitor page first.")
    if active:
        where = "the GPU and its memory" if cuda else f"the {cores} CPU cores"
        running = "Another training is" if active == 1 else f"{active} trainings are"
        return Admission(True, f"{running} already running: they will share {where}, so each will be slower.")
    return Admission(True, "")


def _admit(cuda: bool = False) -> Admission:
    adm = admission(len(active_runs()), cuda=cuda)
    if not adm.allowed:
        raise JobError(adm.message)
    return adm


# -- process handling ---------------------------------------------------------------------
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


def _spawn(run: Path, argv: list[str], kind: str, steps: int, gpus: int = 1) -> int:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    cmd = trainer_command(gpus)
    with open(run / "train.log", "ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {kind}: {' '.join(cmd[1:])} "
                  f"{' '.join(argv)}\n".encode())
        log.flush()
        at = time.time()
        proc = subprocess.Popen([*cmd, *argv], cwd=paths.PROJECT_ROOT,
                                env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    with _procs_lock:
        _procs[proc.pid] = proc
    meta = read_meta(run)
    meta.setdefault("launches", []).append({"pid": proc.pid, "at": at, "kind": kind, "steps": steps})
    write_meta(run, meta)
    return proc.pid


def launch(spec: TrainSpec, title: str, cuda: bool = False) -> RunInfo:
    """Start a new training in its own run folder; JobError when refused."""
    if not spec.dataset:
        raise JobError("choose a dataset first (Data page)")
    _admit(cuda)
    run = paths.unique_child(paths.runs_dir(), title or f"{spec.dataset_label or spec.dataset}-{spec.model}",
                             fallback="run")
    run.mkdir(parents=True)
    write_meta(run, {"title": title.strip() or run.name, "created": time.time(),
                     "dataset_label": spec.dataset_label or spec.dataset, "spec": asdict(spec), "launches": []})
    _spawn(run, [*spec.args(), "--out", str(run)], "start", spec.steps if spec.epochs <= 0 else 0, spec.gpus)
    return run_info(run.name)


def resume(name: str, total_steps: int, threads: int | None = None, device: str | None = None,
           cuda: bool = False) -> RunInfo:
    """Continue a stopped/finished/failed run from its latest checkpoint up to `total_steps`."""
    info = run_info(name)
    if info.active:
        raise JobError(f"{info.title} is still {info.state}; stop it before resuming")
    if not info.has_checkpoint:
        raise JobError(f"{info.title} has no checkpoint yet, so it cannot be resumed; start a new run")
    if total_steps <= info.step:
        raise JobError(f"{info.title} is already at step {info.step:,}; choose more than {info.step:,} steps")
    _admit(cuda)
    meta = read_meta(info.path)
    spec = meta.get("spec") or {}
    threads = threads if threads is not None else int(spec.get("threads", default_threads()))
    device = device or str(spec.get("device", "auto"))
    meta.pop("stop_requested_at", None)
    meta.pop("force_stopped_at", None)
    write_meta(info.path, meta)
    RunDir(info.path).clear_stop()
    _spawn(info.path, ["--resume", "--out", str(info.path), "--steps", str(int(total_steps)),
                       "--threads", str(threads), "--device", device], "resume", int(total_steps),
           int(spec.get("gpus", 1)))
    return run_info(name)


def stop(name: str, grace_s: float = STOP_GRACE_S) -> RunInfo:
    """Ask a run to stop after its current step; SIGTERM follows if it is still alive after grace_s."""
    info = run_info(name)
    if not info.active:
        return info
    meta = read_meta(info.path)
    meta["stop_requested_at"] = time.time()
    write_meta(info.path, meta)
    RunDir(info.path).request_stop()
    if info.state == "starting":  # not training yet: nothing to save, the STOP file is not read yet
        _signal(info.pid, signal.SIGTERM)
    elif grace_s >= 0:
        timer = threading.Timer(grace_s, _escalate, args=(info.path, grace_s))
        timer.daemon = True
        timer.start()
    return run_info(name)


def escalate(name: str, grace_s: float = STOP_GRACE_S) -> bool:
    """SIGTERM a run whose stop request is older than grace_s and which is still alive."""
    try:
        path = paths.child(paths.runs_dir(), name)
    except ValueError:
        return False
    return _escalate(path, grace_s)


def _escalate(path: Path, grace_s: float) -> bool:
    if not path.is_dir():
        return False
    info = _info(path)
    meta = read_meta(info.path)
    asked = float(meta.get("stop_requested_at") or 0)
    if asked and info.active and time.time() - asked >= grace_s and not meta.get("sigterm_at"):
        meta["sigterm_at"] = time.time()
        write_meta(info.path, meta)
        return _signal(info.pid, signal.SIGTERM)
    return False


def force_stop(name: str) -> RunInfo:
    """SIGKILL (the user asked for it): no checkpoint of the current step is written."""
    info = run_info(name)
    if info.active:
        meta = read_meta(info.path)
        meta["force_stopped_at"] = time.time()
        write_meta(info.path, meta)
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
    """Housekeeping the live pages call: reap children, escalate overdue stop requests."""
    reap()
    for info in active_runs():
        if read_meta(info.path).get("stop_requested_at"):
            escalate(info.name)


def delete(name: str) -> None:
    """Remove a run folder; refused while it runs."""
    info = run_info(name)
    if info.active:
        raise JobError(f"{info.title} is {info.state}; stop it before deleting it")
    shutil.rmtree(info.path)


def rename(name: str, title: str) -> None:
    path = paths.child(paths.runs_dir(), name)
    meta = read_meta(path)
    meta["title"] = title.strip() or name
    write_meta(path, meta)


# -- calibration --------------------------------------------------------------------------
def calibrate(spec: TrainSpec, steps: int = 20, timeout_s: float = 300.0) -> dict[str, Any]:
    """Time `steps` training steps in a throw-away subprocess (--dry-run); the estimate as a dict."""
    cmd = [sys.executable, "-m", "gan_core.train", *spec.args(), "--out",
           str(paths.app_home() / ".calibration"), "--dry-run", "--calibration-steps", str(steps), "--json"]
    try:
        out = subprocess.run(cmd, cwd=paths.PROJECT_ROOT, capture_output=True, text=True, timeout=timeout_s,
                             env=dict(os.environ, PYTHONUNBUFFERED="1"), stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise JobError(f"the estimate took longer than {timeout_s:.0f} s; the dataset may be very large "
                       "(the first load decodes every image once) or the machine is busy") from None
    if out.returncode != 0:
        lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
        err = next((ln[7:] for ln in reversed(lines) if ln.startswith("error: ")), lines[-1] if lines else "")
        raise JobError(err or f"the estimate failed (exit code {out.returncode})")
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


def run_config(run: Path) -> Any:
    """The run's RunConfig, or None while it is not written yet (data still loading) or unreadable."""
    from gan_core.errors import GanStudioError

    try:
        return RunDir(run).load_config()
    except (GanStudioError, OSError, ValueError, KeyError, TypeError):
        return None


def check_spec(spec: TrainSpec, classes: int | None, images: int | None = None) -> list[str]:
    """Problems that make a spec unusable, as readable lines (empty when it can start)."""
    problems = []
    if not spec.dataset:
        problems.append("choose a dataset on the Data page first")
    if images == 0:
        problems.append("this dataset has no usable images; the Data page lists the files it skipped and why")
    if spec.model == "acgan" and classes is not None and classes < 2:
        problems.append("ACGAN needs a dataset with at least two class folders; this one has "
                        f"{'none' if not classes else 'only one'}. Choose DCGAN, or upload one sub-folder per class.")
    if spec.model == "acgan" and spec.image_size not in (32, 64):
        problems.append("ACGAN trains at 32 or 64 px")
    if spec.model == "dcgan" and spec.image_size not in (32, 64, 96, 128):
        problems.append("DCGAN trains at 32, 64, 96 or 128 px")
    if spec.epochs <= 0 and spec.steps < 1:
        problems.append("train for at least one step")
    if spec.ema and not 0 <= spec.ema < 1:
        problems.append("EMA decay must be between 0 and 1 (0 turns it off)")
    if not 0 <= spec.label_smoothing < 0.5:
        problems.append("label smoothing must be between 0 and 0.5")
    if spec.model == "acgan" and not spec.aux_weight > 0:
        problems.append("the ACGAN class-loss weight must be above 0 (1 is the paper's)")
    if spec.r1 < 0:
        problems.append("the R1 penalty weight must be 0 (off) or above")
    if spec.eval_every < 0:
        problems.append("judge evaluation every N steps needs N >= 0 (0 turns it off)")
    return problems


def publish(name: str, publish_name: str, which: str = "best", replace: bool = False) -> Any:
    """Publish a run's checkpoint under a catalogue name (for the gallery and the Explore panel).

    JobError with a readable line for bad names, shipped names, an existing name (unless
    `replace`) or a run without checkpoints. Returns the catalogue entry."""
    from gan_core.errors import GanStudioError

    from . import catalog
    from .services import hub

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
