"""Small helpers that prepare pictures and numbers for display."""

from __future__ import annotations

import time

import numpy as np


def for_display(image: np.ndarray, min_width: int = 320, max_factor: int = 8) -> np.ndarray:
    """(H, W, C|1) or (H, W) uint8 -> (H', W') or (H', W', 3), enlarged by a whole factor with
    nearest-neighbour so small GAN images stay crisp instead of being blurred by the browser."""
    img = image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image
    factor = int(min(max_factor, max(1, -(-min_width // max(1, img.shape[1])))))
    if factor > 1:
        img = np.repeat(np.repeat(img, factor, axis=0), factor, axis=1)
    return np.ascontiguousarray(img)


STATE_BADGES = {"running": ("running", "green"), "starting": ("starting", "blue"), "prepared": ("prepared", "blue"),
                "stopping": ("stopping", "orange"), "stopped": ("stopped", "gray"),
                "finished": ("finished", "violet"), "failed": ("failed", "red"), "unknown": ("unknown", "gray")}
# Streamlit markdown icons (Material Symbols, coloured): they render without an emoji font
STATE_ICONS = {"running": ":green[:material/play_circle:]", "starting": ":blue[:material/hourglass_top:]",
               "prepared": ":blue[:material/hourglass_top:]", "stopping": ":orange[:material/pause_circle:]",
               "stopped": ":gray[:material/stop_circle:]", "finished": ":violet[:material/check_circle:]",
               "failed": ":red[:material/error:]", "unknown": ":gray[:material/help:]"}


def ago(ts: float, now: float | None = None) -> str:
    """'3 min ago' style age of a unix time."""
    s = max(0, int((now or time.time()) - ts))
    if s < 60:
        return f"{s} s ago"
    if s < 3600:
        return f"{s // 60} min ago"
    if s < 86400:
        return f"{s // 3600} h ago"
    return time.strftime("%Y-%m-%d", time.localtime(ts))


def fmt(x: object, digits: int = 3) -> str:
    if x is None:
        return "–"
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(x)
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.{digits}f}"
