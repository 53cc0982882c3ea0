"""Runs compared like a lab notebook (pure: rows and configs in, series and tables out).

- any logged metric of any runs against the step, the images seen (step x batch size) or the
  training time (seconds of training, summed over resumes);
- smoothing: an exponential moving average with TensorBoard's weight `s` in [0, 1) (debiased, so
  the first points are not pulled towards 0), and an envelope of the raw values: the min and max
  of the raw values the smoothed point summarises (the trailing 1 / (1 - s) points), so smoothing
  never hides how noisy a curve is;
- the settings side by side, the fields that differ marked;
- the judge's figures per run; export as CSV (the PNG is drawn by `ui.compare_png`).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from typing import Any

from gan_core.config import RunConfig, options

AXES = {"step": "step", "images": "images seen", "time": "wall time (training seconds)"}
NOT_METRICS = ("step", "epoch", "wall", "time")
JUDGE_KEYS = ("eval_fd", "eval_precision", "eval_recall", "eval_class_consistency")


@dataclass(frozen=True)
class Series:
    name: str
    x: list[float]
    raw: list[float | None]
    smooth: list[float | None]
    lo: list[float | None]
    hi: list[float | None]


def metric_keys(runs: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Every numeric metric logged by any of the runs, losses first, then alphabetical."""
    keys: set[str] = set()
    for rows in runs.values():
        for r in rows:
            keys.update(k for k, v in r.items() if k not in NOT_METRICS and isinstance(v, (int, float))
                        and not isinstance(v, bool))
    first = [k for k in ("loss_g", "loss_d", "d_real", "d_fake") if k in keys]
    return first + sorted(keys - set(first))


def x_of(row: dict[str, Any], axis: str, batch_size: int) -> float | None:
    if axis == "step":
        return float(row["step"])
    if axis == "images":
        return float(row["step"]) * batch_size
    if axis == "time":
        t = row.get("time")
        return float(t) if isinstance(t, (int, float)) else None
    raise ValueError(f"unknown x axis {axis!r}; choose from {', '.join(AXES)}")


def window_of(smoothing: float) -> int:
    """How many raw points one smoothed point summarises (the envelope's width)."""
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
    return max(1, round(1.0 / (1.0 - smoothing)))


def ema(values: list[float | None], smoothing: float) -> list[float | None]:
    """Debiased EMA (as TensorBoard's): missing or non-finite points stay missing and are skipped."""
    out: list[float | None] = []
    acc, weight = 0.0, 0.0
    for v in values:
        if v is None or not math.isfinite(v):
            out.append(None)
            continue
        acc = smoothing * acc + (1.0 - smoothing) * v
        weight = smoothing * weight + (1.0 - smoothing)
        out.append(acc / weight)
    return out


def envelope(values: list[float | None], smoothing: float) -> tuple[list[float | None], list[float | None]]:
    """Min and max of the finite raw values in each point's trailing window."""
    n = window_of(smoothing)
    lo: list[float | None] = []
    hi: list[float | None] = []
    for i in range(len(values)):
        win = [v for v in values[max(0, i - n + 1): i + 1] if v is not None and math.isfinite(v)]
        lo.append(min(win) if win else None)
        hi.append(max(win) if win else None)
    return lo, hi


def series(name: str, rows: list[dict[str, Any]], key: str, axis: str = "step", smoothing: float = 0.0,
           batch_size: int = 1) -> Series:
    pts = []
    for r in rows:
        v = r.get(key)
        x = x_of(r, axis, batch_size)
        if x is None or not isinstance(v, (int, float)) or isinstance(v, bool):
            continue
        pts.append((x, float(v) if math.isfinite(float(v)) else None))
    xs = [p[0] for p in pts]
    raw = [p[1] for p in pts]
    lo, hi = envelope(raw, smoothing)
    return Series(name, xs, raw, ema(raw, smoothing), lo, hi)


def compare(runs: dict[str, tuple[list[dict[str, Any]], int]], key: str, axis: str = "step",
            smoothing: float = 0.0) -> list[Series]:
    """One series per run ({label: (rows, batch size)}) that logged `key`."""
    out = [series(name, rows, key, axis, smoothing, bs) for name, (rows, bs) in runs.items()]
    return [s for s in out if s.x]


def to_csv(all_series: list[Series], key: str, axis: str) -> str:
    """Long format: run, x, raw value, smoothed value, envelope min and max."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["run", axis, key, f"{key}_smoothed", f"{key}_min", f"{key}_max"])
    for s in all_series:
        for row in zip(s.x, s.raw, s.smooth, s.lo, s.hi):
            w.writerow([s.name] + ["" if v is None else f"{v:.6g}" for v in row])
    return buf.getvalue()


# -- settings and judge figures -----------------------------------------------------------------
def settings_table(cfgs: dict[str, RunConfig | None]) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows (one per setting: `setting` + one column per run) and the settings that differ.
    The settings are the RunConfig options, the data-derived classes, and the lineage."""
    def flat(cfg: RunConfig | None) -> dict[str, Any]:
        if cfg is None:
            return {}
        out = {o.key: cfg.get(o.key) for o in options()}
        out["model.num_classes"] = cfg.model.num_classes
        out["data.num_images"] = cfg.data.num_images
        lin = cfg.lineage
        out["lineage.parent"] = f"{lin.parent} @ step {lin.parent_step}" if lin.parent else ""
        return out
    flats = {name: flat(c) for name, c in cfgs.items()}
    keys = list(dict.fromkeys(k for f in flats.values() for k in f))
    rows, differ = [], []
    for k in keys:
        vals = [flats[n].get(k) for n in cfgs]
        rows.append({"setting": k, **{n: _show(v) for n, v in zip(cfgs, vals)}})
        if len({repr(v) for v in vals}) > 1:
            differ.append(k)
    return rows, differ


def _show(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list):
        return ", ".join(map(str, v))
    return "" if v is None else str(v)


def judge_figures(rows: list[dict[str, Any]], best: dict[str, Any]) -> dict[str, Any]:
    """The judge's newest figures, and those of the best checkpoint, from a run's metrics."""
    judged = [r for r in rows if r.get("eval_fd") is not None]
    last = judged[-1] if judged else {}
    out: dict[str, Any] = {"judged at step": last.get("step")}
    for k in JUDGE_KEYS:
        out[k.removeprefix("eval_")] = last.get(k)
    out["best FD"] = best.get("eval_fd")
    out["best at step"] = best.get("step")
    return out


def common_steps(a: list[int], b: list[int]) -> list[int]:
    """Steps both runs have a sample grid for."""
    return sorted(set(a) & set(b))
