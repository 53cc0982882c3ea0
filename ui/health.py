"""Plain-language training health checks from the metrics rows (pure: no I/O, no Streamlit).

Signals (see gan_core.training.Trainer.health): `diversity` (~1 healthy, towards 0 = collapse),
`class_diversity` (conditional: variety within each class against real images'; low = one
picture per class),
`nn_real` (mean distance of a sample to its nearest real image; falling fast = memorising),
`class_agreement` (ACGAN: how often D's auxiliary head reads the class G was asked for),
and D(x)/D(G(z)) and the losses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from gan_core.guard_rules import Rules, class_low

COLLAPSE_WARN = 0.3
COLLAPSE_BAD = Rules().diversity_floor  # the guard rolls back below it: one threshold for both
LEVELS = ("error", "warning", "info", "ok")


@dataclass(frozen=True)
class Finding:
    level: str  # error | warning | info | ok
    title: str
    detail: str


def _vals(rows: list[dict[str, Any]], key: str) -> list[tuple[int, float]]:
    return [(int(r["step"]), float(r[key])) for r in rows if r.get(key) is not None]


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def assess(rows: list[dict[str, Any]], state: str = "running", error: str = "", loss: str = "bce",
           conditional: bool = False) -> list[Finding]:
    """Findings for a run, worst first; one "ok" finding when nothing looks wrong."""
    out: list[Finding] = []
    if state == "failed":
        out.append(Finding("error", "Training failed", error or "the training process stopped with an error"))
    bad = [r for r in rows if any(k in r and not math.isfinite(float(r[k])) for k in ("loss_d", "loss_g"))]
    if bad:
        out.append(Finding("error", "Losses became NaN/inf",
                           f"at step {int(bad[0]['step']):,} the losses stopped being numbers: training diverged. "
                           "Resume from an earlier checkpoint with a lower learning rate, or try the hinge loss."))
    bad_ids = {id(r) for r in bad}
    rows = [r for r in rows if id(r) not in bad_ids]
    out += _d_overpowers(rows, loss)
    out += _collapse(rows)
    out += _memorising(rows)
    if conditional:
        out += _one_picture_per_class(rows)
        out += _class_agreement(rows)
    if not out:
        if len(rows) < 3:
            out.append(Finding("info", "Warming up", "not enough measurements yet to judge the training"))
        else:
            out.append(Finding("ok", "No signs of trouble", "losses are finite, D is not winning outright "
                               "and the samples are diverse"))
    return sorted(out, key=lambda f: LEVELS.index(f.level))


def _d_overpowers(rows: list[dict[str, Any]], loss: str, window: int = 8) -> list[Finding]:
    """D(x) near 1 and D(G(z)) near 0 for a while (bce), with the generator's loss climbing."""
    if loss != "bce" or len(rows) < window:
        return []
    recent = rows[-window:]
    d_real = _mean([float(r["d_real"]) for r in recent if "d_real" in r])
    d_fake = _mean([float(r["d_fake"]) for r in recent if "d_fake" in r])
    g = [float(r["loss_g"]) for r in recent]
    half = len(g) // 2
    climbing = _mean(g[half:]) > _mean(g[:half]) * 1.05 or _mean(g[half:]) > 4.0
    if d_real > 0.95 and d_fake < 0.05 and climbing:
        return [Finding("warning", "The discriminator is overpowering the generator",
                        f"D(x) ≈ {d_real:.2f} and D(G(z)) ≈ {d_fake:.2f}: D tells real from fake almost "
                        "perfectly and G's loss keeps rising, so G gets little useful signal. Try a lower "
                        "D learning rate, label smoothing (0.1), DiffAugment, or the hinge loss.")]
    return []


def _collapse(rows: list[dict[str, Any]]) -> list[Finding]:
    div = _vals(rows, "diversity")
    if not div:
        return []
    step, last = div[-1]
    if last < COLLAPSE_BAD:
        level = "error"
    elif last < COLLAPSE_WARN:
        level = "warning"
    else:
        return []
    return [Finding(level, "Likely mode collapse",
                    f"sample diversity is {last:.2f} at step {step:,} (about 1 is healthy): the generator "
                    "draws nearly the same image for different seeds. Resume from an earlier checkpoint, "
                    "lower the learning rate, or add DiffAugment.")]


def _one_picture_per_class(rows: list[dict[str, Any]]) -> list[Finding]:
    """The guard's rule for collapse within the classes (`guard_rules.class_low`), on the last log."""
    last = next((r for r in reversed(rows) if r.get("class_diversity") is not None), None)
    if last is None or not class_low(last):
        return []
    return [Finding("error", "About one picture per class",
                    f"within each class the samples vary {float(last['class_diversity']):.2f} as much as real "
                    f"images (below {Rules().class_floor:g}) at step {int(last['step']):,}: the generator ignores "
                    f"the seed and draws each class the same way. Turn on the mode-seeking term "
                    f"({Rules().ms_on:g}) and resume from an earlier checkpoint; with the guard on, the run does "
                    "this itself.")]


def _memorising(rows: list[dict[str, Any]]) -> list[Finding]:
    nn = _vals(rows, "nn_real")
    if len(nn) < 3:
        return []
    peak = max(v for _, v in nn)
    step, last = nn[-1]
    if peak > 0 and last < 0.5 * peak and last < 0.05:
        return [Finding("warning", "Samples are getting very close to training images",
                        f"the distance from a sample to its nearest real image fell from {peak:.3f} to "
                        f"{last:.3f} by step {step:,}: the generator may be memorising a small dataset. "
                        "DiffAugment and fewer steps help.")]
    return []


def _class_agreement(rows: list[dict[str, Any]]) -> list[Finding]:
    ca = _vals(rows, "class_agreement")
    if len(ca) < 2:
        return []
    step, last = ca[-1]
    if last < 0.5 and step >= 1000:
        return [Finding("warning", "Generated images do not match their classes",
                        f"the discriminator's class head agrees with the requested class for only "
                        f"{last:.0%} of samples at step {step:,}. Train longer, or raise the class-loss "
                        "weight; check that the class folders really differ.")]
    return []
