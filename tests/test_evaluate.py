import json
from pathlib import Path

import numpy as np
import pytest

from gan_core.checkpoints import save_checkpoint
from gan_core.config import ModelConfig
from gan_core.errors import CheckpointError
from gan_core.evaluate import Reference, class_map, class_mix_floor, main
from gan_core.judges import JudgeConfig, JudgeNet, load_judge, save_judge, train_judge
from gan_core.metrics import even_subset
from gan_core.networks import build_generator
from gan_core.sample import spread_labels


def test_spread_labels_in_label_order() -> None:
    assert spread_labels(20, 10).tolist() == [i // 2 for i in range(20)]
    assert np.bincount(spread_labels(1000, 10)).tolist() == [100] * 10


def test_size_matched_subset_keeps_every_class() -> None:
    """ORL: 10,000 samples in class order, compared with 160 real photos; the first 160 samples
    would all be person 1, an even subset holds 4 of each of the 40."""
    labels = spread_labels(10_000, 40)
    assert np.bincount(labels[even_subset(10_000, 160)], minlength=40).tolist() == [4] * 40
    assert even_subset(5, 10).tolist() == [0, 1, 2, 3, 4]


def test_judge_trains_saves_and_loads(tmp_path: Path) -> None:
    # two trivially separable classes: dark and bright images
    rs = np.random.RandomState(0)
    x = np.concatenate([rs.randint(0, 60, (64, 16, 16, 1)), rs.randint(190, 256, (64, 16, 16, 1))]).astype(np.uint8)
    y = np.repeat([0, 1], 64)
    cfg = JudgeConfig(name="t", dataset="synthetic", image_size=16, channels=1, num_classes=2,
                      class_names=["dark", "bright"], width=4, feature_dim=8)
    net, acc = train_judge(cfg, (x, y), (x, y), epochs=3, batch_size=16, lr=1e-2, log=lambda s: None)
    assert acc > 0.9
    save_judge(tmp_path / "j", cfg, net)
    judge = load_judge(tmp_path / "j")
    feats, preds = judge.run(x)
    assert feats.shape == (128, 8) and (preds == y).mean() > 0.9
    # 3-channel and larger inputs are converted to the judge's format
    feats3, _ = judge.run(np.repeat(np.repeat(np.repeat(x, 3, axis=3), 2, axis=1), 2, axis=2))
    assert feats3.shape == (128, 8)


def test_judge_load_errors(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no judge"):
        load_judge(tmp_path)
    cfg = JudgeConfig(image_size=16, width=4, feature_dim=8)
    save_judge(tmp_path / "j", cfg, JudgeNet(cfg))
    (tmp_path / "j" / "judge.safetensors").write_bytes(b"\x80\x04not safetensors")
    with pytest.raises(CheckpointError, match="safetensors"):
        load_judge(tmp_path / "j")


def test_class_map_by_name() -> None:
    jc = JudgeConfig(class_names=[str(i) for i in range(10)])
    assert class_map(["3", "1"], jc).tolist() == [3, 1]
    assert class_map(["cat"], jc) is None


@pytest.mark.slow
def test_evaluate_cli_on_tiny_n(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = ModelConfig(arch="acgan", image_size=32, channels=1, nz=16, ngf=8, num_classes=10)
    save_checkpoint(tmp_path / "ck", cfg, build_generator(cfg).eval(), meta={"dataset": "mnist"})
    assert main(["--checkpoint", str(tmp_path / "ck"), "--n", "200", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["n"] == 200 and r["judge"] == "digits" and r["judge_test_accuracy"] >= 0.99
    assert r["fd"] > r["fd_real_baseline"] >= 0  # an untrained generator is far from the data
    assert 0 <= r["precision"] <= 1 and 0 <= r["recall"] <= 1
    assert set(r["class_consistency_per_class"]) == {str(i) for i in range(10)}
    assert r["memorisation"]["samples"] == 200 and r["memorisation"]["heldout_nn_median"] > 0
    assert 0 <= r["fd_class_mix_floor"] < r["fd"]  # MNIST's labels give the floor
    assert main(["--checkpoint", str(tmp_path / "ck"), "--n", "100"]) == 0
    assert "class consistency" in capsys.readouterr().out


def test_heldout_distances_are_computed_once_and_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    import gan_core.evaluate as ev

    rs = np.random.RandomState(0)
    train, test = (rs.randint(0, 256, (n, 8, 8, 1), dtype=np.uint8) for n in (300, 40))
    key = f"train-{rs.randint(1 << 30)}|test"  # a fresh key: nothing cached under it yet
    calls: list[int] = []
    real_nn = ev.nearest_distances
    monkeypatch.setattr(ev, "nearest_distances", lambda q, r: calls.append(len(q)) or real_nn(q, r))
    first = Reference(train, test, np.zeros((1, 2)), np.zeros((1, 2)), data_key=key).heldout_nn()
    again = Reference(train, test, np.zeros((1, 2)), np.zeros((1, 2)), data_key=key).heldout_nn()
    assert calls == [40] and np.array_equal(first, again)  # the second reference read the cache
    assert np.allclose(first, real_nn(test, train))


def test_class_mix_floor_scores_real_features_in_the_samples_class_mix() -> None:
    rs = np.random.RandomState(0)
    labels = np.repeat([0, 1, 2], 2000)
    centers = np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]])
    feats_a = rs.randn(6000, 2) + centers[labels]
    feats_b = rs.randn(6000, 2) + centers[labels]
    ref = Reference(np.zeros(1), np.zeros(1), feats_a, feats_b, labels)
    balanced = class_mix_floor(ref, np.array([1 / 3, 1 / 3, 1 / 3]))
    skewed = class_mix_floor(ref, np.array([0.6, 0.2, 0.2]))
    assert balanced < 0.05 < 1.0 < skewed  # the real mix is free; a skewed one costs FD by itself
    assert class_mix_floor(Reference(np.zeros(1), np.zeros(1), feats_a, feats_b, None), np.ones(3) / 3) is None
    # samples judged as a class the real half lacks: no floor rather than a wrong one
    assert class_mix_floor(ref, np.array([0.5, 0.25, 0.0, 0.25])) is None


def test_memorisation_is_measured_on_samples_of_every_class(monkeypatch: pytest.MonkeyPatch) -> None:
    """Samples come in class order; the memorisation check takes an even subset of them, not the
    first MEMO_SAMPLES (which, for 10,000 MNIST samples, were all 0s and 1s)."""
    from types import SimpleNamespace

    import gan_core.evaluate as ev

    n, k = 200, 20
    labels = spread_labels(n, 10)
    images = np.broadcast_to(labels[:, None, None, None].astype(np.uint8), (n, 4, 4, 1)).copy()  # pixel = class
    monkeypatch.setattr(ev, "render", lambda g, cfg, n, seed: (images, labels))
    monkeypatch.setattr(ev, "MEMO_SAMPLES", k)
    queried: list[np.ndarray] = []
    real_nn = ev.nearest_distances
    monkeypatch.setattr(ev, "nearest_distances", lambda q, r: queried.append(q) or real_nn(q, r))
    rs = np.random.RandomState(1)
    names = [str(i) for i in range(10)]
    judge = SimpleNamespace(cfg=JudgeConfig(num_classes=10, class_names=names, feature_dim=3),
                            run=lambda x: (rs.randn(len(x), 3), x[:, 0, 0, 0].astype(np.int64)))
    train, test = (rs.randint(0, 10, (m, 4, 4, 1), dtype=np.uint8) for m in (50, 30))
    ref = Reference(train, test, rs.randn(100, 3), rs.randn(100, 3), data_key=f"memo-{rs.randint(1 << 30)}")
    cfg = ModelConfig(arch="acgan", image_size=32, channels=1, nz=16, ngf=8, num_classes=10, class_names=names)
    r = ev.evaluate_generator(None, cfg, judge, ref, n=n)
    samples = queried[0]  # then the held-out images' own check
    assert len(samples) == k and sorted(set(samples[:, 0, 0, 0])) == list(range(10))
    assert r["memorisation"]["samples"] == k and r["class_consistency"] == 1.0
