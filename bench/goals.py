"""The project's performance goals and the verdict text printed beside each measured figure.

The benchmarks measure; this module alone says what the figures should be.
"""

from __future__ import annotations

from typing import Any

TRAIN_SPEEDUP = {("dcgan", 64): 2.0, ("acgan", 32): 3.0}  # the trainer's step over the seed-style step
PEAK_SHARE = 0.5  # share of the device's measured dense-math peak a training step should use
DATA_SHARE = 0.05  # at most this share of a step's time fetching the batch
GPU_IMG_PER_S = {("dcgan", 64): 10_000}  # img/s on an H100-class GPU
RENDER_P95_MS = 10.0  # one 64 px image, one thread, idle and while a training runs

NO_BF16_NOTE = ("this CPU has no native bf16, so the project's step runs fp32 (channels_last) like the "
                "seed-style one (NCHW); the speed-up goals were set for bf16 + channels_last and are out "
                "of reach here")


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def train_verdicts(r: dict[str, Any]) -> dict[str, str]:
    """Figures of `bench train` that have a goal, each as text with its goal and whether it is met."""
    goal = TRAIN_SPEEDUP.get((r["model"], r["image_size"]))
    out = {"share_of_peak": f"{r['share_of_peak']:.0%} of the {r['peak_basis']} peak (goal >= {PEAK_SHARE:.0%}: "
                            f"{_met(r['share_of_peak'] >= PEAK_SHARE)})",
           "data_share": f"{r['data_share']:.2%} of step time (goal <= {DATA_SHARE:.0%}: "
                         f"{_met(r['data_share'] <= DATA_SHARE)})"}
    if "speedup" in r:  # r3gan has no seed-style step to be faster than
        out["speedup"] = f"{r['speedup']}x" + (f" (goal >= {goal}x: {_met(r['speedup'] >= goal)})" if goal else "")
    if "r1_r2_share" in r:
        out["r1_r2_share"] = (f"{r['r1_r2_share']:.1%} of the amortised step ({r['penalised_ms_per_step']} ms "
                              f"with the penalties, {r['plain_ms_per_step']} ms without; no goal)")
        out["cost_vs"] = (f"{r['cost_vs']}x the {r['vs_model']} step's time ({r['vs_ms_per_step']} ms); no goal")
    gpu_goal = GPU_IMG_PER_S.get((r["model"], r["image_size"])) if r.get("device_name") else None
    if gpu_goal:
        out["img_per_s"] = f"{r['img_per_s']} (GPU goal >= {gpu_goal:,} on an H100: {_met(r['img_per_s'] >= gpu_goal)})"
    return out


def train_goals(model: str, image_size: int, cuda: bool) -> dict[str, Any]:
    """The goals `bench train --json` reports beside its figures (None where there is none)."""
    out: dict[str, Any] = {"speedup_goal": TRAIN_SPEEDUP.get((model, image_size)), "share_goal": PEAK_SHARE}
    if cuda:
        out["gpu_goal_img_per_s"] = GPU_IMG_PER_S.get((model, image_size))
    return out


def render_verdict(result: dict[str, Any]) -> str:
    """One line: the render p95 against its goal, for each phase measured."""
    parts = [f"{phase} p95 {result[phase]['render']['p95_ms']:.2f} ms" for phase in ("idle", "training")
             if phase in result]
    worst = max(result[phase]["render"]["p95_ms"] for phase in ("idle", "training") if phase in result)
    return f"  goal: p95 <= {RENDER_P95_MS:g} ms per image ({', '.join(parts)}: {_met(worst <= RENDER_P95_MS)})"
