"""ui/charts.py and ui/live.py: figures built from metrics rows, incremental metric reads, GIF export."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from ui import charts, live
from ui.health import COLLAPSE_WARN


def rows(n: int = 5, acgan: bool = False, gpu: bool = False) -> list[dict]:
    out = []
    for i in range(1, n + 1):
        r = {"step": 10 * i, "loss_d": 1.0 + i, "loss_g": 2.0 - 0.1 * i, "d_real": 0.5 + 0.01 * i,
             "d_fake": 0.5 - 0.01 * i, "img_per_s": 100.0 * i, "rss_mb": 700.0 + i}
        if acgan:
            r.update(acc_real=0.1 * i, acc_fake=0.05 * i)
        if gpu:
            r["gpu_mem_mb"] = 1000.0 + i
        if i % 2 == 0:
            r.update(diversity=0.9, nn_real=0.2 / i)
        out.append(r)
    return out


def trace(fig, name: str):
    return next(t for t in fig.data if t.name == name)


def test_loss_and_discriminator_figures_plot_each_metric_against_the_step() -> None:
    fig = charts.loss_figure(rows())
    assert {t.name for t in fig.data} == {"loss D", "loss G"}  # no gp column: no gp trace
    assert list(trace(fig, "loss D").x) == [10, 20, 30, 40, 50]
    assert list(trace(fig, "loss G").y) == [1.9, 1.8, 1.7, 1.6, 1.5]
    d = charts.d_output_figure(rows())
    assert list(d.layout.yaxis.range) == [-0.02, 1.02] and {t.name for t in d.data} == {"D(x)", "D(G(z))"}
    assert d.layout.yaxis.range is not None and charts.d_output_figure(rows(), "hinge").layout.yaxis.range is None
    assert fig.layout.uirevision == "live"  # zoom survives refreshes


def test_acgan_memory_speed_and_health_figures() -> None:
    acc = charts.accuracy_figure(rows(acgan=True))
    assert list(trace(acc, "class acc. fake").y) == [0.05, 0.1, 0.15000000000000002, 0.2, 0.25]
    assert charts.accuracy_figure(rows()).data == ()
    assert charts.memory_figure(rows()).data[0].name == "process RSS (MB)"
    assert charts.memory_figure(rows(gpu=True)).data[0].name == "GPU memory (MB)"
    assert list(charts.speed_figure(rows()).data[0].y) == [100, 200, 300, 400, 500]
    h = charts.health_figure(rows())
    assert list(trace(h, "diversity").x) == [20, 40] and trace(h, "nearest-real distance").yaxis == "y2"
    # the distance has its own panel below, so its curve cannot cross the diversity's collapse band
    assert h.layout.yaxis2.overlaying is None and h.layout.yaxis2.domain[1] < h.layout.yaxis.domain[0]
    band = h.layout.shapes[0]
    assert band.yref == "y" and (band.y0, band.y1) == (0, COLLAPSE_WARN)


def test_quality_figure_keeps_every_sparse_evaluation_row() -> None:
    # 3,000 logged rows, a judge evaluation on every 500th: downsampling all rows would drop some
    logged = [{"step": i, "loss_d": 1.0} for i in range(1, 3001)]
    for r in logged:
        if r["step"] % 500 == 0:
            r.update(eval_fd=10.0 / r["step"], eval_precision=0.5, eval_recall=0.6, eval_class_consistency=0.9)
    fig = charts.quality_figure(logged)
    assert list(trace(fig, "judge FD").x) == [500, 1000, 1500, 2000, 2500, 3000]
    assert trace(fig, "judge FD").y[-1] == 10.0 / 3000 and fig.layout.yaxis.type == "log"
    right = fig.layout.yaxis2
    assert right.type != "log" and list(right.range) == [-0.02, 1.02] and right.tickmode != "sync"
    assert {trace(fig, n).yaxis for n in ("precision", "recall", "judge class agreement")} == {"y2"}
    unconditional = [{k: v for k, v in r.items() if k != "eval_class_consistency"} for r in logged]
    assert "judge class agreement" not in {t.name for t in charts.quality_figure(unconditional).data}
    overlay = charts.overlay_figure({"run": logged}, "eval_fd")
    assert list(overlay.data[0].x) == [500, 1000, 1500, 2000, 2500, 3000]


def test_overlay_has_one_trace_per_run_and_class_balance_has_one_bar_per_class() -> None:
    fig = charts.overlay_figure({"a": rows(3), "b": rows(5), "empty": []}, "loss_d")
    assert [t.name for t in fig.data] == ["a", "b"] and len(fig.data[1].x) == 5
    bars = charts.class_balance_figure({"cats": 3, "dogs": 5})
    assert list(bars.data[0].x) == ["cats", "dogs"] and list(bars.data[0].y) == [3, 5]
    many = charts.class_balance_figure({f"c{i}": i for i in range(100)}, max_bars=10)
    assert len(many.data[0].x) == 10 and "c99" in many.data[0].x


def test_downsample_keeps_the_newest_row_and_nan_becomes_a_gap() -> None:
    big = [{"step": i, "loss_d": float(i)} for i in range(10_000)]
    small = live.downsample(big, 100)
    assert len(small) <= 100 and small[-1]["step"] == 9999 and small[0]["step"] == 0
    xs, ys = live.series([{"step": 1, "loss_d": float("nan")}, {"step": 2, "loss_d": 1.0}], "loss_d")
    assert xs == [1, 2] and ys == [None, 1.0]


def test_read_metrics_is_incremental_and_waits_for_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    assert live.read_metrics(tmp_path) == []
    path.write_text(json.dumps({"step": 1}) + "\n" + '{"step": 2, "lo')
    assert [r["step"] for r in live.read_metrics(tmp_path)] == [1]
    with open(path, "a") as fh:
        fh.write('ss_d": 1.0}\n' + json.dumps({"step": 3}) + "\n")
    assert [r["step"] for r in live.read_metrics(tmp_path)] == [1, 2, 3]
    path.write_text(json.dumps({"step": 1}) + "\n")  # rewritten shorter (trimmed on resume)
    assert [r["step"] for r in live.read_metrics(tmp_path)] == [1]
    new = tmp_path / "new.jsonl"  # replaced by another file (RunDir.repair_metrics), longer
    new.write_text("".join(json.dumps({"step": s}) + "\n" for s in (7, 8, 9)))
    new.replace(path)
    assert [r["step"] for r in live.read_metrics(tmp_path)] == [7, 8, 9]


def test_gif_export_has_one_frame_per_grid(tmp_path: Path) -> None:
    paths = []
    for i in range(4):
        p = tmp_path / f"step_{i:06d}.png"
        Image.fromarray(np.full((10, 12, 3), 60 * i, np.uint8)).save(p)
        paths.append(p)
    gif = Image.open(io.BytesIO(live.gif_of_grids(paths)))
    assert gif.format == "GIF" and gif.n_frames == 4 and gif.size == (12, 10)
    assert Image.open(io.BytesIO(live.gif_of_grids(paths, max_frames=2))).n_frames == 2


def test_format_eta() -> None:
    assert live.format_eta(None) == "unknown" and live.format_eta(42) == "42 s"
    assert live.format_eta(125) == "2 min 05 s" and live.format_eta(7300) == "2 h 01 min"
