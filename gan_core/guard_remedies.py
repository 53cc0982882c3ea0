"""The guard's remedies: what it changes after rolling back from each named failure (`guard_rules`).

- nonfinite: fp32 when the run used bf16/fp16, else both learning rates x0.1.
- divergence: both learning rates halved.
- d_overpowering: D's learning rate halved and R1 on (`Rules.r1_on`; doubled if on; not with
  wgan-gp, which has its own penalty).
- collapse within the classes (a conditional generator that ignores z): the mode-seeking term on
  (`Rules.ms_on`; doubled if on), which pays G for drawing two z of one class differently.
- collapse over all samples: augmentation up (the next DiffAugment op), or R1 up once all ops are
  on (wgan-gp: learning rates halved).
- memorisation: none: stop, and keep the newest healthy checkpoint as `best`.

A learning rate far beyond the architecture's known-stable range (more than `Rules.lr_far` x
`STABLE_LR`, e.g. `--lr 0.5`) is the likely cause of whatever failure it brings: the remedy for any
failure but memorisation is then to reset that rate to the stable one in one step, and the event
says so (halving 0.5 would take ten rescues to reach a rate Adam trains these networks at). The
guard also acts on the first failing log of such a run (`far_beyond`; see `guard.Guard.check`).

A remedy that did not hold is escalated: from the second rescue in a row on, every remedy also
takes both learning rates x0.1. `apply_remedy` sets a remedy on a live trainer; the guard also
writes it to the run's config.json, so a resume continues with it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .config import DIFFAUG_OPS, TrainConfig
from .guard_rules import Finding, Rules


@dataclass(frozen=True)
class Remedy:
    name: str  # in words, for the event and the exit message
    changes: dict[str, Any]  # option key -> new value ("train.lr_d": 1e-4, "train.precision": "fp32")
    stop: bool = False


# The Adam learning rate each architecture is known to train at: the config's default (the DCGAN
# paper's 2e-4, which ACGAN follows; for r3gan the R3GAN paper's, while the automatic preset's
# presets.RECIPE goes up to 1.5e-3, inside the `Rules.lr_far` x margin; its 32 px recipe broke down at 3e-3).
STABLE_LR = {"dcgan": 2e-4, "acgan": 2e-4, "r3gan": 2e-4}


def stable_lr(arch: str) -> float:
    return STABLE_LR.get(arch, 2e-4)


def far_beyond(tc: TrainConfig, arch: str, rules: Rules = Rules()) -> dict[str, float]:
    """The learning rates ("lr_g", "lr_d") of `tc` far beyond `arch`'s stable range, with their values."""
    limit = rules.lr_far * stable_lr(arch)
    return {k: getattr(tc, k) for k in ("lr_g", "lr_d") if getattr(tc, k) > limit}


def _lr(tc: TrainConfig, factor: float, which: tuple[str, ...] = ("lr_g", "lr_d")) -> dict[str, Any]:
    return {f"train.{k}": getattr(tc, k) * factor for k in which}


def _r1_up(tc: TrainConfig, rules: Rules) -> dict[str, Any]:
    return {"train.r1_gamma": tc.r1_gamma * 2 if tc.r1_gamma > 0 else rules.r1_on}


def remedy(finding: Finding, tc: TrainConfig, precision: str, attempt: int, rules: Rules = Rules(),
           arch: str = "") -> Remedy:
    """The named remedy for `finding` on a run of `arch` trained with `tc` at `precision` ("fp32",
    "bf16", "fp16"); `attempt` counts the rescues in a row before this one (from 1 on, escalated)."""
    k = finding.kind
    if k == "memorisation":
        return Remedy("stop and keep the newest healthy checkpoint as best", {}, stop=True)
    if far := far_beyond(tc, arch, rules):
        lr = stable_lr(arch)
        was = ", ".join(f"{name} {v:g}" for name, v in far.items())
        return Remedy(f"learning rates reset to {lr:g} in one step ({was}: far beyond the stable range of "
                      f"{arch or 'these networks'}, above {rules.lr_far:g} x {lr:g})",
                      {f"train.{name}": lr for name in far})
    parts: list[str] = []
    ch: dict[str, Any] = {}
    if k == "nonfinite":
        if precision in ("bf16", "fp16"):
            parts.append(f"fp32 instead of {precision}")
            ch["train.precision"] = "fp32"
        else:
            parts.append("learning rates x0.1")
            ch.update(_lr(tc, 0.1))
    elif k == "divergence":
        parts.append("learning rates halved")
        ch.update(_lr(tc, 0.5))
    elif k == "d_overpowering":
        parts.append("D's learning rate halved")
        ch.update(_lr(tc, 0.5, ("lr_d",)))
        if tc.loss != "wgan-gp":
            ch.update(_r1_up(tc, rules))
            parts.append(f"R1 gamma {ch['train.r1_gamma']:g}")
    elif k == "collapse" and "class_diversity" in finding.evidence:
        ch["train.mode_seeking"] = tc.mode_seeking * 2 if tc.mode_seeking > 0 else rules.ms_on
        parts.append(f"mode-seeking term {ch['train.mode_seeking']:g}")
    elif k == "collapse":
        ops = tc.diffaug_ops
        nxt = [op for op in ("translation", "color", "cutout") if op not in ops and op in DIFFAUG_OPS]
        if nxt:
            ch["train.diffaug"] = ",".join(ops + nxt[:1])
            parts.append(f"augmentation up ({ch['train.diffaug']})")
        elif tc.loss != "wgan-gp":
            ch.update(_r1_up(tc, rules))
            parts.append(f"R1 gamma {ch['train.r1_gamma']:g}")
        else:
            ch.update(_lr(tc, 0.5))
            parts.append("learning rates halved")
    if attempt >= 1:
        for name in ("lr_g", "lr_d"):  # escalated: the earlier remedy did not hold
            ch[f"train.{name}"] = ch.get(f"train.{name}", getattr(tc, name)) * 0.1
        parts.append("escalated: learning rates x0.1")
    return Remedy(", ".join(parts), ch)


def apply_remedy(tr: Any, rem: Remedy) -> None:
    """Set a remedy's changes on the trainer's config, optimisers, augmentation and precision."""
    tc = tr.cfg.train
    for key, value in rem.changes.items():
        setattr(tc, key.split(".", 1)[1], value)
    tr.schedule_lr()  # the optimisers' rates: the config's new ones times the lr schedule's factor
    tr.aug_ops = tc.diffaug_ops
    if rem.changes.get("train.precision") == "fp32":
        tr.policy = dataclasses.replace(tr.policy, amp_dtype=None, use_scaler=False)
        tr.scaler_d = tr.scaler_g = None
