"""What the Monitor says about an upload's quality: which judge measured its FD (ui.live.quality_measure)
and an ADA chart whose axis shows p's early climb (ui.charts.ada_figure). The browser view of both is
tests/test_e2e_upload_quality.py."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from app_helpers import ROOT, isolate_home, tiny_config

from gan_core.dataset_judges import judge_folder
from gan_core.judges import JudgeConfig, JudgeNet, save_judge
from ui import charts, live

FINGERPRINT = "ab" * 32


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("GAN_STUDIO_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_the_measure_is_named_for_builtin_sets_uploads_with_a_judge_and_unlabelled_ones(home: Path) -> None:
    assert live.quality_measure("mnist", "") == "the shipped judge"
    upload = str(home / "uploads" / "shapes")
    free = live.quality_measure(upload, FINGERPRINT)  # no judge was built for this data: the embedding measured
    assert free.startswith("the label-free embedding") and "no classes" in free
    # a run trained in another studio home: no judge cached here, but its metrics hold class agreement
    elsewhere = live.quality_measure(upload, FINGERPRINT, classes_judged=True)
    assert elsewhere.startswith("a judge trained on this dataset's own images") and "not cached" in elsewhere
    rows = [{"step": 800, "eval_fd": 0.5, "eval_fd_ratio": 3.0, "eval_class_consistency": 0.99},
            {"step": 1600, "eval_fd": 0.3, "eval_fd_ratio": 1.5}]
    caption = live.quality_caption(upload, FINGERPRINT, rows)  # the Monitor's line: the rows show class agreement
    assert caption.startswith("FD is measured by " + elsewhere + "; the latest judgement is 1.5x")
    assert "1,000 samples" in caption and "10,000-sample figure" in caption
    cfg = JudgeConfig(name="dataset-abababab", dataset=upload, image_size=32, channels=1, num_classes=3,
                      class_names=["a", "b", "c"], width=4, feature_dim=8, test_accuracy=0.9375, test_images=48,
                      fingerprint=FINGERPRINT)
    save_judge(judge_folder(FINGERPRINT), cfg, JudgeNet(cfg))
    assert live.quality_measure(upload, FINGERPRINT) == ("this dataset's own judge (held-out accuracy 93.8% "
                                                         "on 48 images)")
    assert live.quality_measure(upload, "cd" * 32).startswith("the label-free embedding")  # other data, other judge
    same_prefix = FINGERPRINT[:32] + "cd" * 16  # names the same cached folder, but its judge is of other data
    assert live.quality_measure(upload, same_prefix).startswith("the label-free embedding")


def test_the_ada_axis_shows_small_p_then_the_whole_range() -> None:
    early = [{"step": s, "ada_p": s / 1000} for s in range(0, 60, 10)]  # p up to 0.05
    low, high = charts.ada_figure(early).layout.yaxis.range
    assert low < 0 < max(r["ada_p"] for r in early) * 3 < high < 0.5  # the climb fills the chart
    later = early + [{"step": 600, "ada_p": 0.6}]
    assert list(charts.ada_figure(later).layout.yaxis.range) == [-0.02, 1.02]
    assert charts.ada_figure([]).layout.yaxis.range[1] < 0.5  # no rows yet: the small scale, no error


def test_the_monitor_says_what_measured_an_unlabelled_uploads_fd(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    from gan_core.runs import RunDir

    home = isolate_home(tmp_path, monkeypatch)
    cfg = tiny_config(home / "uploads" / "flat")
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, fingerprint=FINGERPRINT))
    run = RunDir(home / "runs" / "flat-run")
    run.create(cfg)
    for step, fd in ((10, 40.0), (20, 30.0)):
        run.append_metrics({"step": step, "loss_d": 1.0, "loss_g": 1.0, "ada_p": step / 1000, "eval_fd": fd,
                            "eval_fd_ratio": fd / 2, "eval_precision": 0.1, "eval_recall": 0.1})
    run.write_status("stopped", step=20, total_steps=100)
    at = AppTest.from_file(str(ROOT / "studio.py"), default_timeout=60).run()
    at.session_state["monitor_run"] = "flat-run"
    at.switch_page("pages/monitor.py").run()
    assert not at.exception, [e.value for e in at.exception]
    said = [c.value for c in at.caption if c.value.startswith("FD is measured by")]
    assert said == [("FD is measured by the label-free embedding (a fixed random conv net, never trained: "
                     "no classes); the latest judgement is 15.0x the real-vs-real baseline (1,000 samples, a quick "
                     "reading that runs lower than the 10,000-sample figure of `python -m gan_core.evaluate`, the "
                     "one to compare).")]
