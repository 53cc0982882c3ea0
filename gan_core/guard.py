"""The training guard: named failures read from the metric stream, a rollback to the newest healthy
checkpoint, a named remedy, an event in events.jsonl, and a stop with a one-line reason when the
rescues do not hold.

The rules are pure functions over the logged metric rows (one dict per log, as metrics.jsonl holds
them, plus the health values the guard measures itself at each log). Each looks at the streak of
logs that ends at the newest one; the numbers are in `Rules`:

- nonfinite: the newest log's loss_d or loss_g is NaN/inf, or G's or D's weights are not finite
  (`weights_finite` 0). One log is enough. Remedy: fp32 when the run used bf16/fp16, else both
  learning rates x0.1.
- divergence: loss_d or loss_g more than `k_dev` robust deviations above the median of the
  `window` logs before the streak, for `n_logs` logs in a row. The robust deviation is the median
  absolute deviation x 1.4826 (the standard deviation for normal noise), floored at `min_rel_dev`
  of the median's size so a flat window does not make every wiggle a divergence. Remedy: both
  learning rates halved.
- d_overpowering (bce only, where D's outputs are probabilities): D(G(z)) below `d_fake_floor` for
  `n_logs` logs in a row. Remedy: D's learning rate halved and R1 on (`r1_on`; doubled if on).
- collapse: sample diversity (`Trainer.health`: mean pairwise distance of the fixed-noise samples
  over that of real images) below `diversity_floor` for `n_logs` logs in a row, after it had
  reached `diversity_seen` (a fresh generator draws near-identical noise and is not collapsed).
  Also collapse in any case: diversity below `diversity_dead` (nearly identical samples) for
  `n_logs` logs. Remedy: augmentation up (the next DiffAugment op), or R1 up once all ops are on.
- memorisation: the samples' mean nearest-training distance (`nn_real`) below `memo_ratio` x the
  held-out distance (each real probe image's distance to its nearest other probe image: how close
  a new real image comes to the training set), for `n_logs` logs in a row, after it was above.
  Remedy: none: stop, and keep the newest healthy checkpoint as `best`.

At the run's last log a rule whose condition holds there fires at once (`detect_at_end`): a run
never finishes on a failing log. A remedy that did not hold is escalated: from the second rescue in a row on, every remedy also
takes both learning rates x0.1. A rescue holds once the run logs cleanly past the step where the
failure was caught; after `max_rescues` rescues in a row the guard stops the run with the reason
(the newest healthy checkpoint becomes `latest`).

`Guard` is the part the trainer calls: `start` before its loop, `check` after each logged row. It
keeps the ring of the last `ring_size` healthy checkpoints (checkpoints/ring/step_N, written by
the trainer's own checkpoint writer at logs where no rule's condition holds), rolls back, applies
the remedy to the trainer and to the run's config.json (so a resume continues with it), and writes
every action through `RunDir.append_event`.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import statistics
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from .checkpoints import copy_checkpoint
from .config import DIFFAUG_OPS, TrainConfig
from .errors import TrainingError

KINDS = ("nonfinite", "divergence", "d_overpowering", "collapse", "memorisation")
MAD_TO_SD = 1.4826  # median absolute deviation -> standard deviation, for normal noise


@dataclass(frozen=True)
class Rules:
    n_logs: int = 3  # logs in a row a failure must last (non-finite: one)
    window: int = 8  # divergence: logs before the streak that define the normal level
    k_dev: float = 8.0  # divergence: robust deviations above the window's median
    min_rel_dev: float = 0.1  # divergence: the robust deviation is at least this x |median|
    loss_keys: tuple[str, ...] = ("loss_d", "loss_g")
    d_fake_floor: float = 0.02  # d_overpowering: D(G(z)) below this (bce probabilities; a real DCGAN-MNIST
    # run that recovered went down to 0.032: tests/guard_streams)
    diversity_floor: float = 0.15  # collapse: below this (the Monitor's health panel calls it bad) ...
    diversity_seen: float = 0.3  # ... after having reached this
    diversity_dead: float = 0.02  # collapse in any case: below this (real runs' fresh generators: >= 0.09)
    memo_ratio: float = 0.6  # memorisation: nn_real below this x the held-out distance
    ring_size: int = 3  # K healthy checkpoints kept
    max_rescues: int = 4  # R rescues in a row before the guard gives up
    r1_on: float = 1.0  # the R1 gamma a remedy turns on


@dataclass(frozen=True)
class Finding:
    kind: str  # one of KINDS
    step: int  # the log that completed the streak
    since_step: int  # the streak's first log: the rollback goes to a checkpoint before it
    rule: str  # the rule, with its numbers, in words
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        return f"{self.kind.replace('_', ' ')} at step {self.step}: {self.rule}"


def _finite(v: Any) -> bool:
    try:
        return v is not None and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def _trailing(rows: list[dict[str, Any]], bad: Callable[[int], bool]) -> int:
    """How many of the newest rows in a row satisfy `bad(index)`."""
    n = 0
    for i in range(len(rows) - 1, -1, -1):
        if not bad(i):
            break
        n += 1
    return n


# -- the rules: pure functions of the rows ------------------------------------------------------
def nonfinite(rows: list[dict[str, Any]], rules: Rules = Rules()) -> Finding | None:
    if not rows:
        return None
    r = rows[-1]
    bad = [k for k in rules.loss_keys if k in r and not _finite(r[k])]
    if r.get("weights_finite") == 0:
        bad.append("weights")
    if not bad:
        return None
    step = int(r["step"])
    return Finding("nonfinite", step, step, f"{' and '.join(bad)} not finite",
                   {k: (None if not _finite(r.get(k)) else float(r[k])) for k in rules.loss_keys if k in r})


def _divergent(rows: list[dict[str, Any]], key: str, i: int, rules: Rules, base_end: int) -> tuple[bool, float]:
    """Whether rows[i][key] is beyond k robust deviations of the `window` finite values before
    index `base_end` (the streak's start); also the deviation."""
    base = [float(r[key]) for r in rows[:base_end] if _finite(r.get(key))][-rules.window:]
    if len(base) < rules.window or not _finite(rows[i].get(key)):
        return False, 0.0
    med = statistics.median(base)
    mad = statistics.median(abs(x - med) for x in base) * MAD_TO_SD
    scale = max(mad, rules.min_rel_dev * abs(med), 1e-6)
    dev = (float(rows[i][key]) - med) / scale
    return dev > rules.k_dev, dev


def divergence(rows: list[dict[str, Any]], rules: Rules = Rules()) -> Finding | None:
    n = rules.n_logs
    if len(rows) < n + rules.window:
        return None
    start = len(rows) - n
    for key in rules.loss_keys:
        devs = [_divergent(rows, key, i, rules, start) for i in range(start, len(rows))]
        if all(bad for bad, _ in devs):
            base = [float(r[key]) for r in rows[:start] if _finite(r.get(key))][-rules.window:]
            return Finding("divergence", int(rows[-1]["step"]), int(rows[start]["step"]),
                           f"{key} more than {rules.k_dev:g} robust deviations above the median of the "
                           f"{rules.window} logs before, for {n} logs",
                           {"key": key, "values": [float(r[key]) for r in rows[start:]],
                            "window_median": statistics.median(base),
                            "deviations": [round(d, 1) for _, d in devs]})
    return None


def d_overpowering(rows: list[dict[str, Any]], rules: Rules = Rules(), loss: str = "bce") -> Finding | None:
    if loss != "bce":
        return None
    n = _trailing(rows, lambda i: _finite(rows[i].get("d_fake")) and float(rows[i]["d_fake"]) < rules.d_fake_floor)
    if n < rules.n_logs:
        return None
    streak = rows[-n:]
    return Finding("d_overpowering", int(rows[-1]["step"]), int(streak[0]["step"]),
                   f"D(G(z)) below {rules.d_fake_floor:g} for {n} logs",
                   {"d_fake": [float(r["d_fake"]) for r in streak][-rules.n_logs:],
                    "d_real": [float(r["d_real"]) for r in streak if _finite(r.get("d_real"))][-rules.n_logs:]})


def _with(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return [r for r in rows if _finite(r.get(key))]


def collapse(rows: list[dict[str, Any]], rules: Rules = Rules()) -> Finding | None:
    rs = _with(rows, "diversity")
    if not rs:
        return None
    n = _trailing(rs, lambda i: float(rs[i]["diversity"]) < rules.diversity_floor)
    before = [float(r["diversity"]) for r in rs[:-n]] if n else []
    if n >= rules.n_logs and before and max(before) >= rules.diversity_seen:
        return Finding("collapse", int(rs[-1]["step"]), int(rs[-n]["step"]),
                       f"sample diversity below {rules.diversity_floor:g} for {n} logs after reaching "
                       f"{max(before):.2f}", {"diversity": [float(r["diversity"]) for r in rs[-n:]][-rules.n_logs:],
                                              "peak": max(before)})
    m = _trailing(rs, lambda i: float(rs[i]["diversity"]) < rules.diversity_dead)
    if m >= rules.n_logs:  # nearly identical samples: collapsed, whether or not it was ever diverse
        return Finding("collapse", int(rs[-1]["step"]), int(rs[-m]["step"]),
                       f"sample diversity below {rules.diversity_dead:g} (nearly identical samples) for {m} logs",
                       {"diversity": [float(r["diversity"]) for r in rs[-m:]][-rules.n_logs:]})
    return None


def memorisation(rows: list[dict[str, Any]], rules: Rules = Rules(), heldout: float | None = None) -> Finding | None:
    if not heldout or heldout <= 0:
        return None
    limit = rules.memo_ratio * heldout
    rs = _with(rows, "nn_real")
    n = _trailing(rs, lambda i: float(rs[i]["nn_real"]) < limit)
    if n < rules.n_logs or n == len(rs):
        return None
    return Finding("memorisation", int(rs[-1]["step"]), int(rs[-n]["step"]),
                   f"samples' nearest-training distance below {rules.memo_ratio:g} x held-out ({heldout:.3f}) "
                   f"for {n} logs", {"nn_real": [float(r["nn_real"]) for r in rs[-n:]][-rules.n_logs:],
                                     "heldout": heldout})


def detect(rows: list[dict[str, Any]], rules: Rules = Rules(), loss: str = "bce",
           heldout: float | None = None) -> Finding | None:
    """The first rule that fires on the newest log, in the order of the module's list."""
    return (nonfinite(rows, rules) or divergence(rows, rules) or d_overpowering(rows, rules, loss)
            or collapse(rows, rules) or memorisation(rows, rules, heldout))


def detect_at_end(rows: list[dict[str, Any]], rules: Rules = Rules(), loss: str = "bce",
                  heldout: float | None = None) -> Finding | None:
    """At the run's last log a streak has no more logs to grow: a rule whose condition holds on
    that log fires with a streak of one, so a run never finishes on a failing log."""
    return detect(rows, rules, loss, heldout) or (
        None if clean(rows, rules, loss, heldout) else detect(rows, dataclasses.replace(rules, n_logs=1), loss, heldout))


def clean(rows: list[dict[str, Any]], rules: Rules = Rules(), loss: str = "bce", heldout: float | None = None) -> bool:
    """Whether no rule's condition holds on the newest log (a checkpoint here is a healthy one)."""
    if not rows:
        return False
    one = dataclasses.replace(rules, n_logs=1)
    if nonfinite(rows, one) or d_overpowering(rows, one, loss):
        return False
    start = len(rows) - 1
    if any(_divergent(rows, k, start, rules, start)[0] for k in rules.loss_keys):
        return False
    r = rows[-1]
    if _finite(r.get("diversity")) and float(r["diversity"]) < rules.diversity_dead:
        return False
    if _finite(r.get("diversity")) and float(r["diversity"]) < rules.diversity_floor:
        any_before = any(_finite(x.get("diversity")) and float(x["diversity"]) >= rules.diversity_seen
                         for x in rows[:-1])
        if any_before:
            return False
    if heldout and _finite(r.get("nn_real")) and float(r["nn_real"]) < rules.memo_ratio * heldout:
        return False
    return True


# -- remedies -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Remedy:
    name: str  # in words, for the event and the exit message
    changes: dict[str, Any]  # option key -> new value ("train.lr_d": 1e-4, "train.precision": "fp32")
    stop: bool = False


def _lr(tc: TrainConfig, factor: float, which: tuple[str, ...] = ("lr_g", "lr_d")) -> dict[str, Any]:
    return {f"train.{k}": getattr(tc, k) * factor for k in which}


def _r1_up(tc: TrainConfig, rules: Rules) -> dict[str, Any]:
    return {"train.r1_gamma": tc.r1_gamma * 2 if tc.r1_gamma > 0 else rules.r1_on}


def remedy(finding: Finding, tc: TrainConfig, precision: str, attempt: int, rules: Rules = Rules()) -> Remedy:
    """The named remedy for `finding` on a run trained with `tc` at `precision` ("fp32", "bf16",
    "fp16"); `attempt` counts the rescues in a row before this one (from 1 on, escalated)."""
    k = finding.kind
    if k == "memorisation":
        return Remedy("stop and keep the newest healthy checkpoint as best", {}, stop=True)
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


def held_out_distance(probe: torch.Tensor) -> float:
    """Mean distance of each real probe image (flattened, 0..1) to its nearest other probe image,
    over sqrt(pixels): the scale `Trainer.health`'s nn_real is compared with."""
    if probe.shape[0] < 2:
        return 0.0
    d = torch.cdist(probe, probe)
    d.fill_diagonal_(math.inf)
    return float(d.min(1).values.mean() / math.sqrt(probe.shape[1]))


# -- the part the trainer calls -----------------------------------------------------------------
class Guard:
    def __init__(self, rules: Rules = Rules()):
        self.rules = rules
        self.rows: list[dict[str, Any]] = []
        self.heldout: float | None = None
        self.rescues = 0  # rescues in a row (reset when one holds)
        self.caught_at = -1  # the step where the last failure was caught
        self.last_target = -1  # the step the last rescue rolled back to

    # Any: the trainer (gan_core.training.Trainer); typed loosely to keep this module below it
    def start(self, tr: Any) -> None:
        """Before the loop: the rows so far (a resume), the held-out distance, a ring entry for the
        starting point, and the rescues in a row from the events."""
        rd = tr.run_dir
        self.heldout = held_out_distance(tr.real_probe)
        if rd is None:
            return
        self.rows = [r for r in rd.read_metrics() if int(r.get("step", 0)) <= tr.step]
        for s in rd.ring_steps():  # a checkpoint of a future this run no longer has
            if s > tr.step:
                shutil.rmtree(rd.ring_checkpoint(s), ignore_errors=True)
        if tr.step not in rd.ring_steps():
            self._save_ring(tr)
        for ev in rd.read_events():
            if ev.get("action") == "roll back":
                self.rescues += 1
                self.caught_at = int(ev.get("step", -1))
                self.last_target = int(ev.get("to_step", -1))
            elif ev.get("kind") == "held":
                self.rescues = 0

    def _measure(self, tr: Any, row: dict[str, Any]) -> dict[str, Any]:
        r = dict(row)
        ok = all(bool(torch.isfinite(p).all()) for m in (tr.G, tr.D) for p in m.parameters())
        r["weights_finite"] = int(ok)
        if ok and "diversity" not in r and all(_finite(r.get(k)) for k in self.rules.loss_keys):
            r.update(tr.health(tr.sample_images()))
        return r

    def check(self, tr: Any, row: dict[str, Any]) -> str:
        """After a logged row: "" (carry on), "rolled_back" (the trainer is back at a healthy
        checkpoint with a remedy applied) or "stop". Raises TrainingError when it gives up."""
        rd = tr.run_dir
        self.rows.append(self._measure(tr, row))
        loss = tr.cfg.train.loss
        final = tr.step >= tr.cfg.train.steps
        finding = (detect_at_end if final else detect)(self.rows, self.rules, loss, self.heldout)
        step = tr.step
        if finding is None:
            if clean(self.rows, self.rules, loss, self.heldout):
                if self.rescues and step > self.caught_at:
                    self._event(rd, {"step": step, "kind": "held",
                                     "evidence": {"caught_at": self.caught_at, "rescues": self.rescues},
                                     "action": "carry on", "text": f"rescue held past step {self.caught_at}"})
                    self.rescues = 0
                self._save_ring(tr)
            return ""
        target = self._target(rd, finding)
        if finding.kind == "memorisation":
            kept = ""
            if rd is not None and target is not None:
                copy_checkpoint(rd.ring_checkpoint(target), rd.checkpoint("best"), with_training_state=True)
                kept = f"; kept step {target} as best"
            self._event(rd, {"step": step, "kind": finding.kind, "rule": finding.rule, "evidence": finding.evidence,
                             "action": "stop", "text": f"memorisation: stopped{kept}"})
            return "stop"
        rem = remedy(finding, tr.cfg.train, tr.policy.precision, self.rescues, self.rules)
        if self.rescues >= self.rules.max_rescues or target is None:
            reason = (f"the guard stopped the run: {finding.summary}; {self.rescues} rescues did not hold"
                      if target is not None else f"the guard stopped the run: {finding.summary}; no healthy "
                      "checkpoint to roll back to")
            if target is not None:
                self._roll_back(tr, target)
                tr.save_checkpoint("latest", {"step": target})
                reason += f"; latest is the healthy checkpoint of step {target}"
            self._event(rd, {"step": step, "kind": finding.kind, "rule": finding.rule, "evidence": finding.evidence,
                             "action": "give up", "to_step": target, "text": reason})
            raise TrainingError(reason + ". Start again with lower learning rates (e.g. --lr 2e-4).")
        self._roll_back(tr, target)
        apply_remedy(tr, rem)
        if rd is not None:
            rd.save_config(tr.cfg)
        self.rescues += 1
        self.caught_at, self.last_target = step, target
        self._event(rd, {"step": step, "kind": finding.kind, "rule": finding.rule, "evidence": finding.evidence,
                         "action": "roll back", "to_step": target, "remedy": rem.name, "changes": rem.changes,
                         "attempt": self.rescues,
                         "text": f"{finding.kind.replace('_', ' ')}: back to step {target}, {rem.name}"})
        return "rolled_back"

    def _target(self, rd: Any, finding: Finding) -> int | None:
        """The newest ring checkpoint before the streak; when a rescue from a checkpoint did not
        hold, one older than that checkpoint (it may already have been harmed), if the ring has one."""
        ring = rd.ring_steps() if rd is not None else []
        steps = [s for s in ring if s < finding.since_step]
        if self.rescues and self.last_target >= 0:
            steps = [s for s in steps if s < self.last_target] or [s for s in steps if s <= self.last_target]
        return steps[-1] if steps else None

    def _roll_back(self, tr: Any, target: int) -> None:
        rd = tr.run_dir
        tr.load_checkpoint(rd.ring_checkpoint(target))
        rd.repair_metrics(target)
        self.rows = [r for r in self.rows if int(r["step"]) <= target]
        for s in rd.ring_steps():
            if s > target:
                shutil.rmtree(rd.ring_checkpoint(s), ignore_errors=True)

    def _save_ring(self, tr: Any) -> None:
        rd = tr.run_dir
        if rd is None:
            return
        tr.save_checkpoint(f"ring/step_{tr.step:06d}", {"step": tr.step, "guard": "healthy"})
        for s in rd.ring_steps()[:-self.rules.ring_size]:
            shutil.rmtree(rd.ring_checkpoint(s), ignore_errors=True)

    @staticmethod
    def _event(rd: Any, event: dict[str, Any]) -> None:
        if rd is not None:
            rd.append_event(event)


def apply_remedy(tr: Any, rem: Remedy) -> None:
    """Set a remedy's changes on the trainer's config, optimisers, augmentation and precision."""
    tc = tr.cfg.train
    for key, value in rem.changes.items():
        setattr(tc, key.split(".", 1)[1], value)
    for opt, lr in ((tr.opt_g, tc.lr_g), (tr.opt_d, tc.lr_d)):
        for group in opt.param_groups:
            group["lr"] = lr
    tr.aug_ops = tc.diffaug_ops
    if rem.changes.get("train.precision") == "fp32":
        tr.policy = dataclasses.replace(tr.policy, amp_dtype=None, use_scaler=False)
        tr.scaler_d = tr.scaler_g = None
