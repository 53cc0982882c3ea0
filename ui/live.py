"""Cheap, incremental reads of a run directory for the live Monitor page.

The Monitor fragment re-runs every ~1.5 s. `read_metrics` keeps the rows already parsed per
run and asks `RunDir.metrics_since` only for the bytes appended since (a file that shrank or
was replaced, e.g. trimmed on resume, is read again from the start), so a refresh costs one
`stat` plus the new lines.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

_cache: dict[str, "_Tail"] = {}
_lock = threading.Lock()


@dataclass
class _Tail:
    inode: int = -1
    offset: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)


def read_metrics(run: Path) -> list[dict[str, Any]]:
    """All complete metrics rows of the run folder `run` (a torn last line waits for the next call)."""
    from gan_core.runs import RunDir

    rd, key = RunDir(run), str(run)
    with _lock:
        tail = _cache.get(key) or _Tail()
        rows, offset, inode = rd.metrics_since(tail.offset)
        if inode < 0:  # no file (yet, or any more)
            _cache.pop(key, None)
            return []
        if offset < 0 or (tail.inode >= 0 and inode != tail.inode):  # shrunk or replaced: start again
            tail = _Tail()
            rows, offset, inode = rd.metrics_since(0)
        tail.inode, tail.offset = inode, max(offset, 0)
        tail.rows.extend(rows)
        _cache[key] = tail
        return list(tail.rows)


def downsample(rows: list[dict[str, Any]], max_points: int = 1500) -> list[dict[str, Any]]:
    """At most max_points rows, evenly spaced, always keeping the newest."""
    if len(rows) <= max_points:
        return rows
    idx = np.linspace(0, len(rows) - 1, max_points).round().astype(int)
    return [rows[i] for i in sorted(set(idx.tolist()))]


def series(rows: list[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    """(steps, values) of the rows that have `key` (non-finite values kept as None)."""
    xs, ys = [], []
    for r in rows:
        if key in r and r[key] is not None:
            v = float(r[key])
            xs.append(int(r["step"]))
            ys.append(v if math.isfinite(v) else None)
    return xs, ys  # type: ignore[return-value]


def latest(rows: list[dict[str, Any]], key: str) -> float | None:
    for r in reversed(rows):
        if r.get(key) is not None:
            return float(r[key])
    return None


def format_eta(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "unknown"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def gif_of_grids(sample_paths: list[Path], duration_ms: int = 300, max_frames: int = 200) -> bytes:
    """An animated GIF of the fixed-noise grids (evenly thinned to max_frames)."""
    from PIL import Image

    from gan_core.images import encode_gif

    if not sample_paths:
        raise ValueError("no sample grids yet")
    if len(sample_paths) > max_frames:
        idx = np.linspace(0, len(sample_paths) - 1, max_frames).round().astype(int)
        sample_paths = [sample_paths[i] for i in sorted(set(idx.tolist()))]
    frames = []
    for p in sample_paths:
        with Image.open(p) as im:
            frames.append(np.asarray(im.convert("RGB")))
    shape = frames[-1].shape
    frames = [f for f in frames if f.shape == shape]
    return encode_gif(frames, duration_ms=duration_ms, comment=f"GAN Studio progress, {len(frames)} grids")


def load_image(path: Path) -> np.ndarray:
    """A PNG (e.g. a sample grid) as a uint8 array, (H, W) grey or (H, W, 3) colour."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("L" if im.mode in ("L", "LA", "I", "I;16") else "RGB"))


def real_preview(source: str, image_size: int, channels: int, count: int = 64) -> np.ndarray | None:
    """`count` training images (as the trainer sees them, evenly spread over the set) as a grid,
    or None when the dataset cannot be read any more."""
    from gan_core.errors import GanStudioError
    from gan_core.images import make_grid

    try:
        from gan_core.data import load_dataset

        data = load_dataset(source, image_size, channels=channels)
    except (GanStudioError, ImportError, OSError, ValueError):
        return None
    n = len(data)
    if n == 0:
        return None
    idx = np.linspace(0, n - 1, min(count, n)).round().astype(int)
    return make_grid(data.images[idx], nrow=8)


@dataclass(frozen=True)
class Progress:
    """A run's progress and remaining time as the Monitor shows them."""
    fraction: float  # 0..1
    eta_s: float | None
    by_budget: bool  # the time budget (train.minutes), not the step target, ends the run first


def progress_with_budget(step: int, total_steps: int, eta_s: float | None, minutes: float,
                         loop_started: float | None, now: float) -> Progress:
    """Progress and ETA of a run that may have a time budget (issue 15): the steps' share and, with a
    budget, the share of the budget spent since this launch's training loop began; progress is the
    larger share, the ETA the sooner end (the trainer stops at whichever comes first)."""
    steps_share = min(1.0, step / total_steps) if total_steps > 0 else 0.0
    if minutes <= 0 or loop_started is None:
        return Progress(steps_share, eta_s, False)
    budget_s = minutes * 60.0
    spent = max(0.0, now - loop_started)
    time_share = min(1.0, spent / budget_s)
    left = max(0.0, budget_s - spent)
    by_budget = eta_s is None or left < eta_s
    return Progress(max(steps_share, time_share), left if by_budget else eta_s, by_budget)


def quality_measure(source: str, fingerprint: str, classes_judged: bool = False) -> str:
    """In words, what measured a run's judge evaluations (the trainer picks it with
    `gan_core.dataset_judges.measure_for`): the shipped judge of a built-in set; for an upload the
    judge trained on its own images, with its held-out accuracy (from the config of the judge cached
    for the data's fingerprint; the Monitor asks on every refresh, so the weights are not loaded);
    without one, the label-free embedding, unless the run's evaluations judged classes
    (`classes_judged`: its metrics hold class agreement, which only a trained judge measures), as
    for a run trained in another studio home, whose cache this one lacks."""
    from gan_core.dataset_judges import is_builtin, judge_folder
    from gan_core.embedding import KIND
    from gan_core.errors import GanStudioError
    from gan_core.judges import read_judge_config

    if is_builtin(source):
        return "the shipped judge"
    if fingerprint:
        try:
            cfg = read_judge_config(judge_folder(fingerprint))
        except GanStudioError:
            pass
        else:
            if cfg.fingerprint == fingerprint:  # the folder is named by a prefix: the judge of this data
                return (f"this dataset's own judge (held-out accuracy {cfg.test_accuracy:.1%} on "
                        f"{cfg.test_images:,} images)")
    if classes_judged:
        return "a judge trained on this dataset's own images (not cached in this studio, so its accuracy is not shown)"
    return f"the {KIND} (a fixed random conv net, never trained: no classes)"


def quality_caption(source: str, fingerprint: str, rows: list[dict[str, Any]]) -> str:
    """The Monitor's line under the quality chart: what measured the run's judgements, and the
    latest one's FD ratio, with its sample count (a quick reading that runs lower than the
    full evaluation's; that one is the figure to compare)."""
    from gan_core.evaluate import FULL_SAMPLES, LIGHT_SAMPLES

    judged_classes = any("eval_class_consistency" in r for r in rows)
    ratio = latest(rows, "eval_fd_ratio")
    text = f"FD is measured by {quality_measure(source, fingerprint, judged_classes)}"
    if ratio:
        text += (f"; the latest judgement is {ratio:.1f}x the real-vs-real baseline ({LIGHT_SAMPLES:,} samples, a "
                 f"quick reading that runs lower than the {FULL_SAMPLES:,}-sample figure of "
                 "`python -m gan_core.evaluate`, the one to compare)")
    return text + "."
