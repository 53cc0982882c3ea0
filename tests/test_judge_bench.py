"""`python -m bench judge`: one real half changed by each pixel transform, over the real-vs-real baseline,
in the features of the judge `evaluate` would use (a labelled upload's own judge, built here)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from test_judge_datasets import CLASSES, home, make_zip  # noqa: F401 (home is a fixture)

from bench import judge as bench_judge
from bench.__main__ import main


def test_the_transforms_change_the_pictures_as_named() -> None:
    rs = np.random.RandomState(0)
    x = np.zeros((2, 8, 8, 1), np.float32)
    x[:, 2:6, 2:6] = 200.0
    t = bench_judge.TRANSFORMS
    assert np.array_equal(t["brightness +8 grey levels"](x, rs), x + 8)
    assert np.allclose(t["contrast x0.95 about mid-grey"](x, rs)[0, 0, 0], 127.5 * 0.05)
    blurred = t["blur, Gaussian sd 0.5 px"](x, rs)
    assert blurred.shape == x.shape and np.isclose(blurred.sum(), x.sum(), rtol=1e-5)  # light moved, not lost
    assert 0 < blurred[0, 1, 3, 0] < 200 and blurred[0, 2, 3, 0] < 200  # the edge spread to both sides
    assert np.isclose(blurred[0, 3, 3, 0], 200)  # inside, all neighbours alike
    assert np.array_equal(t["shift 1 px right (wrapped)"](x, rs)[:, :, 3], x[:, :, 2])
    noisy = t["noise, sd 6 grey levels"](x, rs)
    assert 4 < float(np.std(noisy - x)) < 8


def test_a_labelled_upload_is_read_by_its_own_judge_in_json_and_in_text(
        home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    source = str(make_zip(tmp_path / "bands.zip", {c: 30 for c in CLASSES}))
    assert main(["judge", "--dataset", source, "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["judge"].startswith("dataset-") and r["image_size"] == 32 and r["half_size"] == 45
    assert r["fd_real_baseline"] > 0 and set(r["fd_over_baseline"]) == set(bench_judge.TRANSFORMS)
    assert all(np.isfinite(v) and v >= 0 for v in r["fd_over_baseline"].values())
    assert main(["judge", "--dataset", source]) == 0  # the text form: one line per transform
    text = capsys.readouterr().out
    assert "real-vs-real baseline" in text and text.count("x the baseline") == len(bench_judge.TRANSFORMS)


class PixelStats:
    """A stand-in judge whose features are each picture's mean and spread of grey levels."""
    name = "pixel-stats"
    cfg = SimpleNamespace(feature_dim=2)  # what evaluate's feature cache reads besides weights_id

    def weights_id(self) -> str:
        return "pixel-stats-v1"

    def run(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = images.reshape(len(images), -1).astype(np.float64)
        return np.stack([x.mean(1), x.std(1)], 1), np.zeros(len(images), int)


def test_each_figure_is_the_changed_halfs_fd_over_the_baseline(home: Path, tmp_path: Path,  # noqa: F811
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """With features a brightness change moves, the larger one reads larger, and a change the
    features cannot see (a wrapped shift keeps every picture's grey levels) reads the baseline itself."""
    import gan_core.dataset_judges as dj

    monkeypatch.setattr(dj, "measure_for", lambda source, data, log: (PixelStats(), "pixel stats"))
    source = str(make_zip(tmp_path / "bands.zip", {c: 30 for c in CLASSES}))
    r = bench_judge.judge_sensitivity(source)
    ratios = r["fd_over_baseline"]
    assert r["judge"] == "pixel-stats" and ratios["shift 1 px right (wrapped)"] == 1.0
    assert ratios["brightness +8 grey levels"] > ratios["brightness +2 grey levels"] > 1.0
    assert set(ratios) == set(bench_judge.TRANSFORMS) and r["half_size"] == 45
