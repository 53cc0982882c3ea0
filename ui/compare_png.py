"""A comparison chart as a PNG, drawn with Pillow.

Plotly's own static export needs kaleido and a Chrome it downloads or finds at run time; neither is
in the product (no downloads at run time, and the image has no browser), and matplotlib is not a
dependency. So the export draws the same content itself: each run's smoothed line over its min/max
band, axes with round ticks, the title and a legend.
"""

from __future__ import annotations

import io
import math
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from .charts import PALETTE

W, H = 1000, 560
LEFT, RIGHT, TOP, BOTTOM = 80, 20, 60, 70


def nice_ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    """Round tick values (1-2-5 steps) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(1, n - 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    out, t = [], first
    while t <= hi + step * 1e-9:
        out.append(round(t, 12))
        t += step
    return out


def _font(size: int) -> Any:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without scalable default fonts
        return ImageFont.load_default()


def _rgb(hex_color: str) -> tuple[int, int, int]:
    return tuple(int(hex_color[i: i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def render_png(all_series: list[Any], title: str, x_title: str, y_title: str) -> bytes:
    """PNG bytes of the overlay (`ui.compare.Series` list)."""
    img = Image.new("RGB", (W, H), "white")
    layer = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    d, band = ImageDraw.Draw(img), ImageDraw.Draw(layer)
    f_title, f_small = _font(18), _font(13)
    xs = [x for s in all_series for x in s.x]
    ys = [v for s in all_series for col in (s.lo, s.hi, s.smooth) for v in col if v is not None]
    d.text((LEFT, 18), title, fill="black", font=f_title)
    if not xs or not ys:
        d.text((LEFT, H // 2), "no data", fill="gray", font=f_title)
        return _encode(img)
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    pad = (y1 - y0) * 0.05 or abs(y0) * 0.05 or 1.0
    y0, y1 = y0 - pad, y1 + pad
    x1 = x1 if x1 > x0 else x0 + 1
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return TOP + (1 - (y - y0) / (y1 - y0)) * ph

    for t in nice_ticks(y0, y1):
        d.line([(LEFT, py(t)), (W - RIGHT, py(t))], fill=(230, 230, 230))
        d.text((LEFT - 8, py(t)), f"{t:g}", fill="black", font=f_small, anchor="rm")
    for t in nice_ticks(x0, x1):
        d.line([(px(t), TOP), (px(t), H - BOTTOM)], fill=(240, 240, 240))
        d.text((px(t), H - BOTTOM + 8), f"{t:g}", fill="black", font=f_small, anchor="mt")
    d.rectangle([LEFT, TOP, W - RIGHT, H - BOTTOM], outline="black")
    d.text((LEFT + pw / 2, H - 22), x_title, fill="black", font=f_small, anchor="mm")
    d.text((12, TOP - 16), y_title, fill="black", font=f_small)
    for i, s in enumerate(all_series):  # bands first, then lines over them
        color = _rgb(PALETTE[i % len(PALETTE)])
        pts = [(px(x), py(lo), py(hi)) for x, lo, hi in zip(s.x, s.lo, s.hi) if lo is not None and hi is not None]
        if len(pts) >= 2:
            band.polygon([(x, hi) for x, _, hi in pts] + [(x, lo) for x, lo, _ in reversed(pts)], fill=color + (50,))
    img.paste(layer, (0, 0), layer)
    for i, s in enumerate(all_series):
        color = _rgb(PALETTE[i % len(PALETTE)])
        line = [(px(x), py(y)) for x, y in zip(s.x, s.smooth) if y is not None]
        if len(line) >= 2:
            d.line(line, fill=color, width=2)
        lx, ly = W - RIGHT - 260, TOP + 10 + 18 * i
        d.rectangle([lx, ly + 3, lx + 14, ly + 13], fill=color)
        d.text((lx + 20, ly), str(s.name)[:36], fill="black", font=f_small)
    return _encode(img)


def _encode(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
