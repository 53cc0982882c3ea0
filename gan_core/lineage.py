"""Branch runs and hand rollbacks: the library side of the Monitor's "Branch a new run from here"
and "Roll back to here".

A branch is a new run folder whose config is the parent's with edited training settings and a
`Lineage` (parent run, step, checkpoint); its `checkpoints/latest` is a copy of the parent's chosen
checkpoint (weights, optimiser, data position, RNG), so `python -m gan_core.train --resume --out
CHILD` continues from exactly that point (bit for bit when nothing was edited). Edited learning
rates and Adam betas are written into the copied optimiser state too, because a resume restores
the optimiser's own settings. The parent's metrics and sample grids up to the step come along, so
the child's curves start where the parent's were. The model and the data cannot change in a
branch (the weights must fit and the data position must mean the same images).

A rollback makes a stopped run's `latest` one of its older checkpoints (best, or one of the
guard's ring), trims the metrics to that step and logs an event; resuming continues from there.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from .checkpoints import TRAINING_STATE, copy_checkpoint, read_config, resolve
from .config import RunConfig, options
from .errors import CheckpointError, ConfigError
from .runs import RunDir
from .serialize import load_state, save_state

BRANCH_KEYS = tuple(o.key for o in options() if o.key.startswith("train."))  # what a branch may edit


def checkpoint_step(run: RunDir, which: str) -> int:
    """The step a run's checkpoint (`latest`, `best`, `ring/step_N`) was saved at."""
    if ".." in Path(which).parts or Path(which).is_absolute():
        raise CheckpointError(f"not a checkpoint of this run: {which!r}")
    path = resolve(run.checkpoint(which))
    return int(read_config(path)[1].get("step", 0))


def _set_optimiser(state_file: Path, cfg: RunConfig) -> None:
    """Write cfg's learning rates and betas into a copied training state's optimisers."""
    state = load_state(state_file)
    tc = cfg.train
    for key, lr in (("opt_g", tc.lr_g), ("opt_d", tc.lr_d)):
        for group in state[key]["param_groups"]:
            group["lr"], group["betas"] = lr, (tc.beta1, tc.beta2)
    save_state(state, state_file)


def _copy_history(parent: RunDir, child: RunDir, step: int) -> None:
    for row in parent.read_metrics():
        if int(row.get("step", 0)) <= step:
            child.append_metrics(row)
    for s, png in parent.samples():
        if s <= step:
            shutil.copy2(png, child.sample_path(s))


def branch(parent: RunDir, which: str, child: RunDir, changes: dict[str, Any] | None = None) -> RunConfig:
    """Create `child` from `parent`'s checkpoint `which` with `changes` (options by dotted name,
    training settings only; `train.steps` must pass the checkpoint's step). Returns its config."""
    changes = dict(changes or {})
    fixed = sorted(k for k in changes if k not in BRANCH_KEYS)
    if fixed:
        raise ConfigError(f"a branch keeps its parent's model and data; {fixed[0]} cannot change", field=fixed[0])
    if child.path.exists():
        raise ConfigError(f"{child.path} already exists; choose another name for the branch")
    cfg = parent.load_config()
    step = checkpoint_step(parent, which)
    d = cfg.to_dict()
    for key, value in changes.items():
        section, name = key.split(".", 1)
        d[section][name] = value
    d["lineage"] = {"parent": parent.name, "parent_step": step, "parent_checkpoint": which}
    new = RunConfig.from_dict(d)  # the edits are checked as any config's are
    if new.train.steps <= step:
        raise ConfigError(f"the branch starts at step {step}; train.steps must be above it, got {new.train.steps}",
                          field="train.steps")
    src = resolve(parent.checkpoint(which))
    if not (src / TRAINING_STATE).is_file():
        raise CheckpointError(f"{parent.name}'s {which} checkpoint holds no training state; it cannot be branched")
    child.create(new)
    copy_checkpoint(src, child.checkpoint("latest"), with_training_state=True)
    _set_optimiser(child.checkpoint("latest") / TRAINING_STATE, new)
    _copy_history(parent, child, step)
    edits = ", ".join(f"{key.split('.', 1)[1]}={value}" for key, value in changes.items())
    child.append_event({"step": step, "kind": "branch", "action": "branch", "parent": parent.name,
                        "checkpoint": which, "changes": changes,
                        "text": f"branched from {parent.name} at step {step}" + (f" ({edits})" if edits else "")})
    return new


def roll_back(run: RunDir, which: str) -> int:
    """Make `which` the run's latest checkpoint and trim its metrics to that step (the run must not
    be training). Returns the step."""
    if which == "latest":
        raise CheckpointError("that is already the latest checkpoint")
    step = checkpoint_step(run, which)
    src = resolve(run.checkpoint(which))
    if not (src / TRAINING_STATE).is_file():
        raise CheckpointError(f"the {which} checkpoint holds no training state; training cannot continue from it")
    copy_checkpoint(src, run.checkpoint("latest"), with_training_state=True)
    run.repair_metrics(step)
    for s in run.ring_steps():
        if s > step:
            shutil.rmtree(run.ring_checkpoint(s), ignore_errors=True)
    run.append_event({"step": step, "kind": "rollback", "action": "roll back", "to_step": step, "checkpoint": which,
                      "text": f"rolled back by hand to step {step} ({which})"})
    return step


def family(runs: dict[str, RunConfig | None]) -> dict[str, list[str]]:
    """Children of each run by name ("" holds the roots: runs without a parent here), in the
    order given. A parent that is gone makes its children roots."""
    out: dict[str, list[str]] = {"": []}
    for name, cfg in runs.items():
        parent = cfg.lineage.parent if cfg is not None else ""
        out.setdefault(parent if parent in runs and parent != name else "", []).append(name)
    return out
