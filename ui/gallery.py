"""Sample grids of catalogue checkpoints for the Home page (rendered through the render hub)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def gallery_grid(name: str) -> tuple[np.ndarray, dict[str, Any]]:
    """The grid image (H, W, C) uint8 and the service's info for a catalogue name."""
    from gan_core.images import grid_layout, make_grid

    from .services import hub

    svc = hub().get(name)
    info = svc.info
    seeds, labels, cols = grid_layout(info["num_classes"] if svc.conditional else 0)
    images = svc.render_seeds(seeds, labels)
    return make_grid(images, nrow=cols, padding=2), info


def grid_caption(num_classes: int, class_names: list[str]) -> str:
    """What the gallery grid shows, in words, read from the grid's layout (`images.grid_layout`)."""
    from gan_core.images import grid_layout

    seeds, labels, cols = grid_layout(num_classes)
    rows = [labels[i:i + cols] for i in range(0, len(labels), cols)] if labels else []
    if rows and all(len(set(r)) == 1 for r in rows):
        return f"one row per class: {', '.join(class_names[r[0]] for r in rows)}"
    classes = f", classes in turn (all {num_classes})" if labels else ""
    return f"seeds {seeds[0]}–{seeds[-1]}, {cols} per row{classes}"


def weights_hash(name: str) -> str:
    """Cache key part: changes when a published name is replaced by other weights."""
    from gan_core.checkpoints import weights_hash as _hash

    from .catalog import resolve

    return _hash(resolve(name).path)


def quality_summary(path: Path, meta: dict[str, Any]) -> str | None:
    """One line of the judge's figures for a gallery card, or None when nothing was measured.

    A shipped checkpoint carries its full evaluation (evaluation.json, 10,000 samples); one
    published from a judged run carries the light evaluation of the step it was saved at."""
    import json

    try:
        r = json.loads((path / "evaluation.json").read_text())
        head = f"Judge, {int(r['n']):,} samples"
        fd, ratio, p, rc = r["fd"], r["fd_ratio"], r["precision"], r["recall"]
        agree = r.get("class_consistency")
        floor = r.get("fd_class_mix_floor")
        mix = floor / r["fd_real_baseline"] if floor is not None and r.get("fd_real_baseline") else None
    except (OSError, ValueError, KeyError, TypeError):
        m = meta.get("metrics") or {}
        if m.get("eval_fd") is None:
            return None
        head = f"Judge, 1,000 samples at step {int(m.get('step', meta.get('step', 0))):,}"
        fd, ratio, p, rc = m["eval_fd"], m.get("eval_fd_ratio"), m.get("eval_precision"), m.get("eval_recall")
        agree = m.get("eval_class_consistency")
        mix = None
    parts = [f"FD {fd:.3g}" + (f" ({ratio:.1f}× real-vs-real" + (f"; its class mix alone {mix:.1f}×" if mix else "")
                               + ")" if ratio is not None else "")]
    if p is not None and rc is not None:
        parts.append(f"precision {p:.2f} / recall {rc:.2f}")
    if agree is not None:
        parts.insert(0, f"class agreement {agree:.1%}")
    return f"{head}: " + " · ".join(parts)
