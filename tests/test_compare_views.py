"""Runs compared: smoothing with a min/max envelope, x axes, settings side by side, CSV and PNG export,
event markers on the Monitor's charts, the branch tree; and the Runs and Monitor pages (AppTest)
on run folders written as a trainer writes them."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gan_core.config import Lineage
from gan_core.images import save_png
from gan_core.runs import RunDir
from tests.test_training import tiny_run
from ui import charts, compare, compare_png


def rows(n: int = 40, base: float = 2.0, noise: float = 0.5, every: int = 10) -> list[dict]:
    rs = np.random.RandomState(int(base * 10))
    return [{"step": every * (i + 1), "time": 0.5 * (i + 1), "loss_g": base + noise * rs.randn(), "loss_d": 1.0,
             "d_fake": 0.4} for i in range(n)]


# -- smoothing and the envelope -------------------------------------------------------------------
def test_ema_is_debiased_and_skips_missing_points() -> None:
    assert compare.ema([4.0, 4.0, 4.0], 0.9) == pytest.approx([4.0, 4.0, 4.0])  # no pull towards 0
    out = compare.ema([1.0, None, 3.0, float("nan")], 0.5)
    assert out[1] is None and out[3] is None and out[2] == pytest.approx((0.25 * 1 + 0.5 * 3) / 0.75)
    assert compare.ema([1.0, 5.0], 0.0) == [1.0, 5.0]


def test_the_envelope_spans_the_raw_values_each_smoothed_point_summarises() -> None:
    raw = [1.0, 9.0, 2.0, 8.0, 3.0]
    lo, hi = compare.envelope(raw, 0.5)  # window 2
    assert lo == [1.0, 1.0, 2.0, 2.0, 3.0] and hi == [1.0, 9.0, 9.0, 8.0, 8.0]
    s = compare.series("a", rows(), "loss_g", smoothing=0.8)
    assert all(lo <= sm <= hi for lo, sm, hi in zip(s.lo, s.smooth, s.hi))
    # smoothing calms the line; the band keeps the noise visible
    assert np.std(np.diff(s.smooth)) < np.std(np.diff(s.raw))
    assert np.mean(np.subtract(s.hi, s.lo)) > 0.5
    with pytest.raises(ValueError):
        compare.window_of(1.0)


def test_x_by_step_images_seen_or_training_time() -> None:
    r = rows(3)
    assert compare.series("a", r, "loss_g", "step").x == [10.0, 20.0, 30.0]
    assert compare.series("a", r, "loss_g", "images", batch_size=64).x == [640.0, 1280.0, 1920.0]
    assert compare.series("a", r, "loss_g", "time").x == [0.5, 1.0, 1.5]
    with pytest.raises(ValueError, match="unknown x axis"):
        compare.x_of(r[0], "epochs", 1)


def test_any_logged_metric_can_be_compared() -> None:
    a, b = rows(3), rows(3)
    b[0]["eval_fd"] = 12.0
    assert compare.metric_keys({"a": a, "b": b}) == ["loss_g", "loss_d", "d_fake", "eval_fd"]
    out = compare.compare({"a": (a, 8), "b": (b, 8)}, "eval_fd")
    assert [s.name for s in out] == ["b"]  # a run without the metric draws nothing


def test_csv_export_holds_raw_smoothed_and_envelope_per_run() -> None:
    all_series = compare.compare({"a": (rows(5), 8), "b": (rows(5, base=3.0), 8)}, "loss_g", "step", 0.5)
    table = list(csv.reader(io.StringIO(compare.to_csv(all_series, "loss_g", "step"))))
    assert table[0] == ["run", "step", "loss_g", "loss_g_smoothed", "loss_g_min", "loss_g_max"]
    assert len(table) == 11 and {r[0] for r in table[1:]} == {"a", "b"}
    assert float(table[1][2]) == pytest.approx(all_series[0].raw[0], rel=1e-5)


def test_png_export_draws_each_run_in_its_colour() -> None:
    all_series = compare.compare({"a": (rows(), 8), "b": (rows(base=4.0), 8), "c": (rows(base=6.0), 8)},
                                 "loss_g", "step", 0.7)
    png = compare_png.render_png(all_series, "loss G across runs", "step", "loss G")
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert img.shape == (compare_png.H, compare_png.W, 3)
    for color in charts.PALETTE[:3]:
        rgb = np.array([int(color[i: i + 2], 16) for i in (1, 3, 5)])
        assert (np.abs(img.astype(int) - rgb).sum(axis=2) < 10).sum() > 200, color  # its line and legend
    assert compare_png.nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0] or \
        compare_png.nice_ticks(0, 1)[-1] == pytest.approx(1.0)
    empty = compare_png.render_png([], "t", "step", "y")
    assert Image.open(io.BytesIO(empty)).size == (compare_png.W, compare_png.H)


def test_compare_figure_draws_a_band_under_each_smoothed_line() -> None:
    all_series = compare.compare({"a": (rows(), 8), "b": (rows(base=4.0), 8)}, "loss_g", "step", 0.6)
    fig = charts.compare_figure(all_series, "loss_g", "step")
    assert len(fig.data) == 6
    lo = [t for t in fig.data if t.fill == "tonexty"]
    assert len(lo) == 2 and [t.name for t in fig.data if t.showlegend is not False] == ["a", "b"]


def test_settings_table_marks_the_fields_that_differ() -> None:
    a, b = tiny_run(), tiny_run(lr_d=1e-4)
    b.lineage = Lineage("a", 40, "latest")
    table, differ = compare.settings_table({"a": a, "b": b})
    assert differ == ["train.lr_d", "lineage.parent"]
    row = next(r for r in table if r["setting"] == "train.lr_d")
    assert (row["a"], row["b"]) == ("0.0002", "0.0001")


def test_judge_figures_per_run() -> None:
    r = rows(3)
    r[1].update(eval_fd=30.0, eval_precision=0.5)
    f = compare.judge_figures(r, {"eval_fd": 25.0, "step": 10})
    assert f["judged at step"] == 20 and f["fd"] == 30.0 and f["best FD"] == 25.0
    assert compare.judge_figures(rows(3), {})["judged at step"] is None


def test_event_markers_sit_where_the_curve_restarts_with_their_text() -> None:
    fig = charts.loss_figure(rows(5))
    ev = {"step": 300, "to_step": 100, "kind": "d_overpowering", "action": "roll back", "rule": "D(G(z)) below 0.02",
          "evidence": {"d_fake": [0.01, 0.01, 0.01]}, "text": "d overpowering: back to step 100, D's learning rate halved"}
    charts.add_event_markers(fig, [ev, {"step": 40, "kind": "branch", "action": "branch", "text": "branched"}])
    assert [s.x0 for s in fig.layout.shapes] == [100, 40]
    texts = [a.text for a in fig.layout.annotations]
    assert texts[0].startswith("d overpowering: back to step 100") and texts[1] == "branched"
    assert "D(G(z)) below 0.02" in fig.layout.annotations[0].hovertext



def test_an_event_near_the_last_step_reads_leftwards_and_a_verdict_is_two_words() -> None:
    """Plotly widens an axis to fit an annotation: a label running right from the run's last step
    would stretch every chart past the run's end."""
    fig = charts.loss_figure(rows(5))  # steps 10..50
    verdict = {"step": 50, "kind": "verdict", "action": "finished, but", "text": "finished, but the judge reads 14% ..."}
    charts.add_event_markers(fig, [{"step": 20, "kind": "held", "action": "carry on", "text": "rescue held"}, verdict])
    first, last = fig.layout.annotations
    assert first.xanchor == "left" and last.xanchor == "right"  # "right" anchor: the text ends at the line
    assert last.text == "verdict: failed" and "judge reads 14%" in last.hovertext


# -- the pages ------------------------------------------------------------------------------------
def write_run(runs: Path, name: str, base: float, lr_d: float = 2e-4, parent: str = "",
              events: list[dict] | None = None) -> RunDir:
    """A finished run folder as the trainer writes it (config, metrics, grids, status), without training."""
    cfg = tiny_run(steps=400, lr_d=lr_d)
    if parent:
        cfg.lineage = Lineage(parent, 200, "latest")
    rd = RunDir(runs / name)
    rd.create(cfg)
    for r in rows(40, base):
        rd.append_metrics(dict(r, d_real=0.6, img_per_s=800 + 10 * base, rss_mb=700 + base))
    for step in (200, 400):
        save_png(np.full((64, 64), int(base * 40) % 256, np.uint8), rd.sample_path(step))
    for ev in events or []:
        rd.append_event(ev)
    rd.write_status("finished", step=400, total_steps=400)
    rd.write_app_meta({"title": name, "created": time.time() + base, "launches": []})
    return rd


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from app_helpers import isolate_home

    return isolate_home(tmp_path, monkeypatch)


def open_page(page: str, **state):
    from app_helpers import ROOT
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "studio.py"), default_timeout=60)
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_runs_page_shows_the_tree_the_overlay_and_the_settings(home: Path) -> None:
    from ui import paths

    runs = paths.runs_dir()
    write_run(runs, "root", 2.0)
    write_run(runs, "child", 3.0, lr_d=1e-4, parent="root")
    write_run(runs, "other", 4.0)
    at = open_page("pages/runs.py")
    tree = [c.value for c in at.code if "└─" in c.value]
    assert tree and "root" in tree[0] and "└─ child  (from step 200)" in tree[0]
    assert set(at.multiselect(key="compare_runs").value) == {"root", "child", "other"}
    fig = next(el for el in at.get("plotly_chart"))
    import json

    spec = json.loads(fig.proto.spec)
    fills = [t for t in spec["data"] if t.get("fill") == "tonexty"]
    assert len(fills) == 3 and len(spec["data"]) == 9
    frames = [df for df in at.dataframe if df.value is not None and "root" in getattr(df.value, "columns", [])]
    assert frames and list(frames[0].value.index) == ["train.lr_d", "lineage.parent"]


def test_monitor_marks_events_on_every_chart(home: Path) -> None:
    from ui import paths

    ev = {"step": 300, "to_step": 100, "kind": "d_overpowering", "action": "roll back", "rule": "D(G(z)) below 0.02",
          "evidence": {"d_fake": [0.01]}, "text": "d overpowering: back to step 100, D's learning rate halved"}
    write_run(paths.runs_dir(), "guarded", 2.0, events=[ev])
    at = open_page("pages/monitor.py", monitor_run="guarded")
    import json

    specs = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    assert len(specs) >= 4
    for spec in specs:
        texts = [a.get("text", "") for a in spec["layout"].get("annotations", [])]
        assert any(t.startswith("d overpowering: back to step 100") for t in texts)
    assert any("Events (1)" in e.label for e in at.expander)
