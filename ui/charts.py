"""Plotly figure builders for the studio pages (pure: rows in, figures out).

Every live figure sets `uirevision`, so a user's zoom survives the Monitor's refreshes.
"""

from __future__ import annotations

from typing import Any, Iterable

import plotly.graph_objects as go

from .health import COLLAPSE_WARN
from .live import downsample, series

COLORS = {"loss_d": "#d62728", "loss_g": "#1f77b4", "d_real": "#2ca02c", "d_fake": "#ff7f0e",
          "acc_real": "#2ca02c", "acc_fake": "#9467bd", "img_per_s": "#17becf", "rss_mb": "#7f7f7f",
          "gpu_mem_mb": "#bcbd22", "diversity": "#1f77b4", "class_diversity": "#17becf",
          "class_agreement": "#9467bd", "nn_real": "#8c564b",
          "gp": "#e377c2", "eval_fd": "#d62728", "eval_precision": "#1f77b4", "eval_recall": "#2ca02c",
          "eval_class_consistency": "#9467bd", "lr_scale": "#17becf"}
LABELS = {"loss_d": "loss D", "loss_g": "loss G", "d_real": "D(x)", "d_fake": "D(G(z))",
          "acc_real": "class acc. real", "acc_fake": "class acc. fake", "img_per_s": "images / s",
          "rss_mb": "process RSS (MB)", "gpu_mem_mb": "GPU memory (MB)", "diversity": "diversity",
          "class_diversity": "diversity within classes (vs real)", "class_agreement": "class agreement",
          "nn_real": "nearest-real distance", "gp": "gradient penalty",
          "eval_fd": "judge FD", "eval_precision": "precision", "eval_recall": "recall",
          "eval_class_consistency": "judge class agreement", "lr_scale": "learning-rate factor"}


def _layout(fig: go.Figure, title: str, y_title: str = "", height: int = 290, rev: str = "live") -> go.Figure:
    fig.update_layout(title={"text": title, "x": 0.01, "font": {"size": 14}}, height=height,
                      margin={"l": 10, "r": 10, "t": 40, "b": 10}, hovermode="x unified",
                      legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
                      uirevision=rev, xaxis_title="step", yaxis_title=y_title)
    return fig


def line_figure(rows: list[dict[str, Any]], keys: Iterable[str], title: str, y_title: str = "",
                y_range: tuple[float, float] | None = None) -> go.Figure:
    """One line per metric key present in the rows, against the step."""
    rows = downsample(rows)
    fig = go.Figure()
    for key in keys:
        xs, ys = series(rows, key)
        if xs:
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers" if len(xs) < 40 else "lines",
                                     name=LABELS.get(key, key), line={"color": COLORS.get(key)}))
    _layout(fig, title, y_title)
    if y_range:
        fig.update_yaxes(range=list(y_range))
    return fig


def loss_figure(rows: list[dict[str, Any]]) -> go.Figure:
    return line_figure(rows, ("loss_d", "loss_g", "gp"), "Losses", "loss")


def d_output_figure(rows: list[dict[str, Any]], loss: str = "bce") -> go.Figure:
    """D(x) and D(G(z)): probabilities for bce (0..1), raw scores for the other losses."""
    prob = loss == "bce"
    return line_figure(rows, ("d_real", "d_fake"), "Discriminator outputs" + ("" if prob else " (raw scores)"),
                       "probability" if prob else "score", (-0.02, 1.02) if prob else None)


def accuracy_figure(rows: list[dict[str, Any]]) -> go.Figure:
    return line_figure(rows, ("acc_real", "acc_fake"), "Class accuracy (D reads the class)", "accuracy", (-0.02, 1.02))


def speed_figure(rows: list[dict[str, Any]]) -> go.Figure:
    return line_figure(rows, ("img_per_s",), "Throughput", "images / s")


def memory_figure(rows: list[dict[str, Any]]) -> go.Figure:
    key = "gpu_mem_mb" if any("gpu_mem_mb" in r for r in rows) else "rss_mb"
    title = "GPU memory (peak allocated)" if key == "gpu_mem_mb" else "Training process memory (RSS)"
    return line_figure(rows, (key,), title, "MB")


def health_figure(rows: list[dict[str, Any]]) -> go.Figure:
    """Two stacked panels on one step axis: diversity and class agreement (0..~1) on top, with
    the collapse-risk band of the diversity rule (`health.COLLAPSE_WARN`) under them; the
    nearest-real distance below, on its own axis, so its curve never crosses that band."""
    fig = go.Figure()
    for key in ("diversity", "class_diversity", "class_agreement"):
        xs, ys = series(rows, key)
        if xs:
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=LABELS[key],
                                     line={"color": COLORS[key]}))
    xs, ys = series(rows, "nn_real")
    if xs:
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=LABELS["nn_real"], yaxis="y2",
                                 line={"color": COLORS["nn_real"], "dash": "dot"}))
    _layout(fig, "Sample health", "diversity / agreement")
    fig.add_hrect(y0=0, y1=COLLAPSE_WARN, yref="y", line_width=0, fillcolor=COLORS["diversity"], opacity=0.08,
                  annotation_text=f"diversity below {COLLAPSE_WARN:g}: collapse risk",
                  annotation_position="bottom right", annotation_font_size=11)
    fig.update_layout(xaxis={"anchor": "y2"}, yaxis={"domain": [0.42, 1.0]},
                      yaxis2={"title": "distance", "domain": [0.0, 0.3], "anchor": "x", "showgrid": False,
                              "tickmode": "auto"},
                      legend={"orientation": "h", "y": -0.3, "x": 0, "xanchor": "left", "yanchor": "top"},
                      margin={"l": 10, "r": 10, "t": 40, "b": 50}, height=360)
    return fig


def quality_figure(rows: list[dict[str, Any]]) -> go.Figure:
    """The trainer's light judge evaluation: FD (left, log scale: lower is better) and precision,
    recall and class agreement (right, 0..1: higher is better)."""
    rows = downsample([r for r in rows if r.get("eval_fd") is not None])
    fig = go.Figure()
    xs, ys = series(rows, "eval_fd")
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=LABELS["eval_fd"],
                             line={"color": COLORS["eval_fd"], "width": 3}))
    for key in ("eval_precision", "eval_recall", "eval_class_consistency"):
        xs, ys = series(rows, key)
        if xs:
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=LABELS[key], yaxis="y2",
                                     line={"color": COLORS[key], "dash": "dot"}))
    _layout(fig, "Quality by the judge (1,000 samples)", "FD (lower is better)")
    # log on the left axis only; the right one keeps its own round ticks (an overlaying axis would
    # otherwise put its ticks at the left one's log gridlines: 0.015, 0.055, 0.091, ...)
    ticks = [m * 10.0 ** e for e in range(-3, 4) for m in (1, 2, 5)]  # 1-2-5 steps, full numbers
    fig.update_layout(yaxis={"type": "log", "tickmode": "array", "tickvals": ticks,
                             "ticktext": [f"{t:g}" for t in ticks]},
                      yaxis2={"title": "precision / recall / agreement", "overlaying": "y", "side": "right",
                              "range": [-0.02, 1.02], "showgrid": False, "tickmode": "linear", "tick0": 0,
                              "dtick": 0.2},
                      legend={"orientation": "h", "y": -0.3, "x": 0, "xanchor": "left", "yanchor": "top"},
                      margin={"l": 10, "r": 10, "t": 40, "b": 50}, height=320)
    return fig


def overlay_figure(runs: dict[str, list[dict[str, Any]]], key: str = "loss_g") -> go.Figure:
    """One metric of several runs on one chart (the Runs page's comparison)."""
    fig = go.Figure()
    for name, rows in runs.items():
        xs, ys = series(downsample([r for r in rows if r.get(key) is not None]), key)  # sparse keys survive
        if xs:
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=name))
    return _layout(fig, f"{LABELS.get(key, key)} across runs", LABELS.get(key, key), height=360, rev="overlay")


def class_balance_figure(counts: dict[str, int], max_bars: int = 60) -> go.Figure:
    """Images per class, as bars (the largest `max_bars` classes when there are more)."""
    items = list(counts.items())
    if len(items) > max_bars:
        items = sorted(items, key=lambda kv: -kv[1])[:max_bars]
    fig = go.Figure(go.Bar(x=[k for k, _ in items], y=[v for _, v in items], marker_color="#1f77b4"))
    fig.update_layout(height=260, margin={"l": 10, "r": 10, "t": 30, "b": 10}, yaxis_title="images",
                      title={"text": "Images per class", "x": 0.01, "font": {"size": 14}})
    return fig


ADA_ZOOM = 0.25  # the ADA chart's axis ends here until p passes 80% of it, then at 1


def ada_figure(rows: list[dict[str, Any]]) -> go.Figure:
    """Adaptive augmentation: the probability p each augmentation is applied with (0..1), per step.

    p moves by at most 1 per `gan_core.ada.ADJUST_KIMG` thousand images, so on a 0..1 axis the first
    minutes of a run would draw a flat line at the bottom: the axis shows 0..ADA_ZOOM until p passes
    80% of it, then 0..1 (two fixed scales, not one that rescales at every refresh)."""
    rows = downsample(rows)
    xs, ys = series(rows, "ada_p")
    fig = go.Figure(go.Scatter(x=xs, y=ys, mode="lines+markers" if len(xs) < 40 else "lines",
                               name="augmentation p", line={"color": "#8c564b"}))
    _layout(fig, "Adaptive augmentation (ADA)", "p")
    top = 1.0 if max((y for y in ys if y is not None), default=0.0) > 0.8 * ADA_ZOOM else ADA_ZOOM
    fig.update_yaxes(range=[-0.02 * top, 1.02 * top])
    return fig


def lr_figure(rows: list[dict[str, Any]]) -> go.Figure:
    """The learning-rate schedule (`train.lr_decay`): the factor both rates are multiplied by, per
    step, on a fixed 0..1 axis (1 until the decay starts, then down to `train.lr_final`)."""
    return line_figure(rows, ("lr_scale",), "Learning-rate schedule", "x the set rates", (-0.02, 1.05))


# -- events and comparisons ---------------------------------------------------------------------
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
EVENT_COLORS = {"roll back": "#d62728", "give up": "#7f0000", "stop": "#7f0000", "carry on": "#2ca02c",
                "branch": "#9467bd"}


def event_x(event: dict[str, Any]) -> int:
    """Where an event sits on a step axis: a rollback where the curve starts again, else its step."""
    return int(event["to_step"] if event.get("to_step") is not None else event.get("step", 0))


def event_label(event: dict[str, Any], width: int = 48) -> str:
    """The text beside an event's line: its own, cut to `width`; the end-of-run verdict in two words
    (its whole text is on hover and on the page)."""
    if event.get("kind") == "verdict":
        return "verdict: passed" if event.get("action") == "finished" else "verdict: failed"
    text = str(event.get("text") or event.get("kind", "event"))
    return text if len(text) <= width else text[: width - 1] + "…"


def _x_extent(fig: go.Figure) -> tuple[float, float] | None:
    xs = [float(x) for t in fig.data for x in (getattr(t, "x", None) or ()) if isinstance(x, (int, float))]
    return (min(xs), max(xs)) if xs else None


def add_event_markers(fig: go.Figure, events: list[dict[str, Any]]) -> go.Figure:
    """A dotted vertical line per event (the guard's rollbacks, hand rollbacks, branches), with its
    text beside it and the whole text, evidence included, on hover. Labels alternate above and
    below; one in the right part of the curves' steps reads leftwards (Plotly widens an axis to fit
    an annotation, so a label running right from the last step would stretch the chart)."""
    extent = _x_extent(fig)
    for i, ev in enumerate(events):
        color = EVENT_COLORS.get(str(ev.get("action")), "#7f7f7f")
        x = event_x(ev)
        side = "left" if extent and extent[1] > extent[0] and (x - extent[0]) > 0.6 * (extent[1] - extent[0]) else "right"
        hover = str(ev.get("text") or ev.get("kind"))
        if ev.get("rule"):
            hover += f"<br>rule: {ev['rule']}"
        if ev.get("evidence"):
            hover += "<br>evidence: " + ", ".join(f"{k}={v}" for k, v in ev["evidence"].items())[:300]
        fig.add_vline(x=x, line_dash="dot", line_color=color, line_width=2,
                      annotation_text=event_label(ev), annotation_hovertext=hover,
                      annotation_position=("top " if i % 2 == 0 else "bottom ") + side,
                      annotation_font_size=10, annotation_font_color=color)
    return fig


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i: i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def compare_figure(all_series: list[Any], key: str, x_title: str = "step") -> go.Figure:
    """Runs overlaid (`ui.compare.Series`): the smoothed line of each, over a band between the
    min and max of the raw values it summarises."""
    fig = go.Figure()
    for i, s in enumerate(all_series):
        color = PALETTE[i % len(PALETTE)]
        fig.add_trace(go.Scatter(x=s.x, y=s.hi, mode="lines", line={"width": 0, "color": color},
                                 legendgroup=s.name, showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=s.x, y=s.lo, mode="lines", line={"width": 0, "color": color}, fill="tonexty",
                                 fillcolor=_rgba(color, 0.2), legendgroup=s.name, showlegend=False,
                                 name=f"{s.name} (min/max)", hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=s.x, y=s.smooth, mode="lines", name=s.name, legendgroup=s.name,
                                 line={"color": color, "width": 2}))
    label = LABELS.get(key, key)
    _layout(fig, f"{label} across runs (band: min/max of the raw values)", label, height=380, rev="compare")
    fig.update_layout(xaxis_title=x_title)
    return fig
