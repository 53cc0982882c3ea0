"""The guard's detection rules: pure functions over the logged metric rows (one dict per log, as
metrics.jsonl holds them, plus the health values the guard measures itself at each log). Each
looks at the streak of logs that ends at the newest one; the numbers are in `Rules`:

- nonfinite: the newest log's loss_d or loss_g is NaN/inf, or G's or D's weights are not finite
  (`weights_finite` 0). One log is enough.
- divergence: loss_d or loss_g more than `k_dev` robust deviations above the median of the
  `window` logs before the streak, for `n_logs` logs in a row. The robust deviation is the median
  absolute deviation x 1.4826 (the standard deviation for normal noise), floored at `min_rel_dev`
  of the median's size so a flat window does not make every wiggle a divergence.
- d_overpowering (bce only, where D's outputs are probabilities): D(G(z)) below `d_fake_floor` for
  `n_logs` logs in a row.
- collapse: sample diversity (`Trainer.health`: mean pairwise distance of the fixed-noise samples
  over that of real images) below `diversity_floor` for `n_logs` logs in a row, after it had
  reached `diversity_seen` (a fresh generator draws near-identical noise and is not collapsed).
  Also collapse in any case: diversity below `diversity_dead` (nearly identical samples) for
  `n_logs` logs. And, for a conditional model, collapse within the classes: `class_diversity`
  (the samples' within-class share of their spread over real images' share, ~1 healthy) below
  `class_floor` for `n_logs` logs in a row, counting only logs whose `diversity` is at least
  `class_min_diversity` (below it the samples are still near-identical noise and the share
  means nothing). Such a generator ignores z: about one picture per class, however varied the
  classes are, so there is no "after reaching" condition: it can do this from its first logs.
- memorisation: the samples' mean nearest-training distance (`nn_real`) below `memo_ratio` x the
  held-out distance (`held_out_distance`: each real probe image's distance to its nearest other
  probe image, how close a new real image comes to the training set), for `n_logs` logs in a row,
  after it was above.

At the run's last log a rule whose condition holds there fires at once (`detect_at_end`): a run
never finishes on a failing log. `clean` says whether a log is healthy (a checkpoint there joins
the ring). The remedies are in `guard_remedies`, the loop that acts on a finding in `guard`.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from .presets import RECIPE

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
    class_floor: float = 0.4  # collapse within the classes: class_diversity below this (tests/guard_streams)
    class_min_diversity: float = 0.2  # ... on logs whose diversity is at least this
    ms_on: float = RECIPE.mode_seeking  # the mode-seeking weight a remedy turns on: the automatic preset's
    memo_ratio: float = 0.6  # memorisation: nn_real below this x the held-out distance
    ring_size: int = 3  # K healthy checkpoints kept
    max_rescues: int = 4  # R rescues in a row before the guard gives up
    r1_on: float = 1.0  # the R1 gamma a remedy turns on
    lr_far: float = 10.0  # a learning rate above this x the architecture's stable one (guard_remedies)
    # is far beyond its range: one failing log is enough, and the remedy resets it


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


def finite(v: Any) -> bool:
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
    bad = [k for k in rules.loss_keys if k in r and not finite(r[k])]
    if r.get("weights_finite") == 0:
        bad.append("weights")
    if not bad:
        return None
    step = int(r["step"])
    return Finding("nonfinite", step, step, f"{' and '.join(bad)} not finite",
                   {k: (None if not finite(r.get(k)) else float(r[k])) for k in rules.loss_keys if k in r})


def _divergent(rows: list[dict[str, Any]], key: str, i: int, rules: Rules, base_end: int) -> tuple[bool, float]:
    """Whether rows[i][key] is beyond k robust deviations of the `window` finite values before
    index `base_end` (the streak's start); also the deviation."""
    base = [float(r[key]) for r in rows[:base_end] if finite(r.get(key))][-rules.window:]
    if len(base) < rules.window or not finite(rows[i].get(key)):
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
            base = [float(r[key]) for r in rows[:start] if finite(r.get(key))][-rules.window:]
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
    n = _trailing(rows, lambda i: finite(rows[i].get("d_fake")) and float(rows[i]["d_fake"]) < rules.d_fake_floor)
    if n < rules.n_logs:
        return None
    streak = rows[-n:]
    return Finding("d_overpowering", int(rows[-1]["step"]), int(streak[0]["step"]),
                   f"D(G(z)) below {rules.d_fake_floor:g} for {n} logs",
                   {"d_fake": [float(r["d_fake"]) for r in streak][-rules.n_logs:],
                    "d_real": [float(r["d_real"]) for r in streak if finite(r.get("d_real"))][-rules.n_logs:]})


def _with(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return [r for r in rows if finite(r.get(key))]


def collapse(rows: list[dict[str, Any]], rules: Rules = Rules()) -> Finding | None:
    """Collapse over all samples, or (a conditional model) within the classes: the module's rules."""
    return _overall_collapse(rows, rules) or class_collapse(rows, rules)


def class_counted(r: dict[str, Any], rules: Rules = Rules()) -> bool:
    """Whether the class-collapse rule reads this row (it has both measures, past the noise stage)."""
    return finite(r.get("class_diversity")) and finite(r.get("diversity")) and (
        float(r["diversity"]) >= rules.class_min_diversity)


def class_low(r: dict[str, Any], rules: Rules = Rules()) -> bool:
    """Whether a logged row's class_diversity is below the floor (on a row the class rule counts)."""
    return class_counted(r, rules) and float(r["class_diversity"]) < rules.class_floor


def class_collapse(rows: list[dict[str, Any]], rules: Rules = Rules()) -> Finding | None:
    """Collapse within the classes (the module's rule): about one picture per class."""
    rs = [r for r in rows if class_counted(r, rules)]
    n = _trailing(rs, lambda i: class_low(rs[i], rules))
    if n < rules.n_logs:
        return None
    return Finding("collapse", int(rs[-1]["step"]), int(rs[-n]["step"]),
                   f"sample diversity within each class below {rules.class_floor:g} of real images' for {n} logs: "
                   "the generator ignores z and draws about one picture per class",
                   {"class_diversity": [round(float(r["class_diversity"]), 4) for r in rs[-n:]][-rules.n_logs:],
                    "diversity": [round(float(r["diversity"]), 4) for r in rs[-n:]][-rules.n_logs:]})


def _overall_collapse(rows: list[dict[str, Any]], rules: Rules) -> Finding | None:
    rs = _with(rows, "diversity")
    if not rs:
        return None
    div = [float(r["diversity"]) for r in rs]
    n = _trailing(rs, lambda i: div[i] < rules.diversity_floor)
    before = div[:-n] if n else []
    if n >= rules.n_logs and before and max(before) >= rules.diversity_seen:
        return Finding("collapse", int(rs[-1]["step"]), int(rs[-n]["step"]),
                       f"sample diversity below {rules.diversity_floor:g} for {n} logs after reaching "
                       f"{max(before):.2f}", {"diversity": div[-n:][-rules.n_logs:], "peak": max(before)})
    m = _trailing(rs, lambda i: div[i] < rules.diversity_dead)
    if m >= rules.n_logs:  # nearly identical samples: collapsed, whether or not it was ever diverse
        return Finding("collapse", int(rs[-1]["step"]), int(rs[-m]["step"]),
                       f"sample diversity below {rules.diversity_dead:g} (nearly identical samples) for {m} logs",
                       {"diversity": div[-m:][-rules.n_logs:]})
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
    if finite(r.get("diversity")) and float(r["diversity"]) < rules.diversity_dead:
        return False
    if finite(r.get("diversity")) and float(r["diversity"]) < rules.diversity_floor:
        if any(finite(x.get("diversity")) and float(x["diversity"]) >= rules.diversity_seen for x in rows[:-1]):
            return False
    if class_low(r, rules):
        return False
    if heldout and finite(r.get("nn_real")) and float(r["nn_real"]) < rules.memo_ratio * heldout:
        return False
    return True


def held_out_distance(probe: torch.Tensor) -> float:
    """Mean distance of each real probe image (flattened, 0..1) to its nearest other probe image,
    over sqrt(pixels): the scale `Trainer.health`'s nn_real is compared with."""
    if probe.shape[0] < 2:
        return 0.0
    d = torch.cdist(probe, probe)
    d.fill_diagonal_(math.inf)
    return float(d.min(1).values.mean() / math.sqrt(probe.shape[1]))
