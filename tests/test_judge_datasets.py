"""A judge for every dataset (gan_core.dataset_judges, gan_core.embedding): the held-out split, the
judge cache keyed by the data's fingerprint, and `python -m gan_core.evaluate` on uploads made here."""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import gan_core.judges as judges_mod
from gan_core import dataset_judges as dj
from gan_core.checkpoints import save_checkpoint
from gan_core.config import ModelConfig
from gan_core.data import load_dataset
from gan_core.embedding import RandomEmbedding, embedding_for
from gan_core.evaluate import light_evaluator, main
from gan_core.metrics import frechet_distance
from gan_core.networks import build_generator

CLASSES = ("top", "bottom", "left")


def _picture(kind: str, rs: np.random.RandomState, side: int = 16) -> np.ndarray:
    """A grey picture with a bright band where its class says, plus noise."""
    x = rs.randint(0, 40, (side, side)).astype(np.uint8)
    h = side // 2
    band = {"top": (slice(0, h), slice(None)), "bottom": (slice(h, None), slice(None)),
            "left": (slice(None), slice(0, h)), "": (slice(2, -2), slice(2, -2))}[kind]
    x[band] = rs.randint(200, 256, x[band].shape)
    return x


def make_zip(path: Path, classes: dict[str, int], seed: int = 0) -> Path:
    """A zip of class folders (or flat, class ""), written as a user would upload it."""
    rs = np.random.RandomState(seed)
    with zipfile.ZipFile(path, "w") as zf:
        for name, count in classes.items():
            for i in range(count):
                kind = name if name in CLASSES else ""
                buf = __import__("io").BytesIO()
                Image.fromarray(_picture(kind, rs)).save(buf, "PNG")
                zf.writestr(f"{name}/{i:03d}.png" if name else f"{i:03d}.png", buf.getvalue())
    return path


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The app home (where judges of uploads are cached) in a temp folder; tiny judge training."""
    monkeypatch.setenv("GAN_STUDIO_HOME", str(tmp_path / "home"))
    small = dj.DatasetJudgeSpec(32, width=8, feature_dim=16, shift=1, batch_size=16, lr=1e-2, passes=800)
    monkeypatch.setattr(dj, "spec_for", lambda size: small)
    return tmp_path / "home"


@pytest.fixture
def labelled(tmp_path: Path) -> Path:
    return make_zip(tmp_path / "bands.zip", {c: 30 for c in CLASSES})


def test_the_heldout_split_is_seeded_stratified_and_disjoint() -> None:
    labels = np.repeat([0, 1, 2, 3], [50, 10, 2, 1])
    train, test = dj.heldout_split(labels)
    assert len(np.intersect1d(train, test)) == 0 and sorted(np.concatenate([train, test])) == list(range(len(labels)))
    held = np.bincount(labels[test], minlength=4).tolist()
    assert held == [10, 2, 1, 0]  # 20% per class, at least 1 from 2 images up, never the only image
    again = dj.heldout_split(labels)
    assert all(np.array_equal(a, b) for a, b in zip((train, test), again))  # seeded: the same split each time
    other = dj.heldout_split(labels, seed=1)[1]
    assert not np.array_equal(test, other)
    assert dj.why_no_judge(np.repeat([0, 1], 25), 2) == ""  # 5 + 5 held out
    assert "too few" in dj.why_no_judge(np.repeat([0, 1], 6), 2)  # 2 held out: no accuracy worth the name
    assert "no classes" in dj.why_no_judge(np.full(100, -1), 0)


def test_the_judge_is_built_once_and_reused_from_its_cache(home: Path, labelled: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    data = load_dataset(labelled, 32)
    notes: list[str] = []
    judge = dj.dataset_judge(data, log=notes.append)
    folder = dj.judge_folder(data.fingerprint)
    assert judge.path == folder and folder.parent == home / "judges"
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "judge.safetensors"]
    assert any(n.startswith("building a judge") for n in notes)
    cfg = json.loads((folder / "config.json").read_text())["judge"]
    assert cfg["fingerprint"] == data.fingerprint and cfg["class_names"] == sorted(CLASSES)
    assert cfg["test_images"] == 18 and cfg["train_images"] == 72 and cfg["heldout_share"] == dj.HELDOUT_SHARE
    assert judge.cfg.test_accuracy > 0.8  # bands are easy: the held-out accuracy says the judge works

    def no_training(*a, **k):
        raise AssertionError("the cached judge should have been used")

    monkeypatch.setattr(judges_mod, "train_judge", no_training)
    notes.clear()
    again = dj.dataset_judge(data, log=notes.append)
    assert notes == [] and again.weights_id() == judge.weights_id()


def test_other_data_gets_its_own_judge(home: Path, labelled: Path, tmp_path: Path) -> None:
    first = dj.dataset_judge(load_dataset(labelled, 32), log=lambda s: None)
    more = make_zip(tmp_path / "more.zip", {c: 31 for c in CLASSES}, seed=1)
    other_data = load_dataset(more, 32)
    second = dj.dataset_judge(other_data, log=lambda s: None)
    assert second.path != first.path and first.path.is_dir() and second.path.is_dir()
    assert second.cfg.fingerprint == other_data.fingerprint != first.cfg.fingerprint


@pytest.mark.parametrize("damage", ["weights", "config"])
def test_a_corrupt_cache_is_rebuilt_with_a_note_and_never_unpickled(home: Path, labelled: Path, damage: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    data = load_dataset(labelled, 32)
    folder = dj.dataset_judge(data, log=lambda s: None).path
    if damage == "weights":  # a pickle where the safetensors file should be
        (folder / "judge.safetensors").write_bytes(pickle.dumps({"weight": [1, 2, 3]}))
    else:
        (folder / "config.json").write_text("{not json")

    def refuse(*a, **k):
        raise AssertionError("a judge cache must never be unpickled")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    notes: list[str] = []
    judge = dj.dataset_judge(data, log=notes.append)
    assert any("cannot be used" in n and "building it again" in n for n in notes), notes
    assert judge.cfg.fingerprint == data.fingerprint
    assert judges_mod.load_judge(folder).weights_id() == judge.weights_id()  # the rebuilt one is readable


def test_the_label_free_embedding_is_fixed_and_separates_noise_from_data(labelled: Path) -> None:
    data = load_dataset(labelled, 32)
    a, b = embedding_for(32, 1), embedding_for(32, 1)
    fa, none = a.run(data.images)
    assert none is None and fa.shape == (len(data), a.cfg.feature_dim)
    assert np.array_equal(fa, b.run(data.images)[0]) and a.weights_id() == b.weights_id()  # same weights
    assert isinstance(a, RandomEmbedding) and a.name.startswith("label-free embedding: random conv net")
    real_a, real_b = fa[::2], fa[1::2]
    noise = a.run(np.random.RandomState(0).randint(0, 256, data.images.shape, dtype=np.uint8))[0]
    assert frechet_distance(noise, real_a) > 5 * frechet_distance(real_b, real_a)


def _checkpoint(path: Path, source: Path, cfg: ModelConfig) -> Path:
    torch.manual_seed(0)
    return save_checkpoint(path, cfg, build_generator(cfg).eval(), meta={"dataset": str(source)})


def test_evaluate_a_labelled_upload_with_its_own_judge(home: Path, labelled: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    cfg = ModelConfig(arch="acgan", image_size=32, channels=1, nz=8, ngf=8, num_classes=3, class_names=list(CLASSES))
    ck = _checkpoint(tmp_path / "ck", labelled, cfg)
    assert main(["--checkpoint", str(ck), "--n", "60", "--json"]) == 0
    out = capsys.readouterr()
    r = json.loads(out.out)
    assert r["judge_kind"] == "judge" and r["judge"].startswith("dataset-") and 0 < r["judge_test_accuracy"] <= 1
    assert r["judge_heldout_images"] == 18 and "building a judge" in out.err
    assert set(r["class_consistency_per_class"]) == set(CLASSES) and r["fd"] > r["fd_real_baseline"] >= 0
    assert r["kid"] is not None and r["fd_class_mix_floor"] is not None
    assert r["memorisation"]["reference"] == "real images' nearest other image" and r["memorisation"]["samples"] == 60
    assert main(["--checkpoint", str(ck), "--n", "60"]) == 0  # the table, from the cached judge
    out = capsys.readouterr()
    assert "judge test accuracy" in out.out and "trained on this dataset's own images" in out.out
    assert "building a judge" not in out.err


def test_evaluate_an_unlabelled_upload_with_the_label_free_embedding(home: Path, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    flat = make_zip(tmp_path / "flat.zip", {"": 40})
    cfg = ModelConfig(arch="dcgan", image_size=32, channels=1, nz=8, ngf=8, ndf=8)
    ck = _checkpoint(tmp_path / "ck", flat, cfg)
    assert main(["--checkpoint", str(ck), "--n", "50", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["judge_kind"] == "label-free embedding" and r["judge"].startswith("label-free embedding: ")
    assert r["judge_test_accuracy"] is None and "class_histogram" not in r and "class_consistency" not in r
    assert r["fd"] > 0 and r["kid"] > r["kid_real_baseline"] and r["memorisation"]["samples"] == 50
    assert not (home / "judges").exists()  # nothing trained, nothing cached
    assert main(["--checkpoint", str(ck), "--n", "50"]) == 0
    table = capsys.readouterr().out
    assert "measured with     label-free embedding: random conv net" in table and "KID" in table


def test_the_trainers_light_evaluation_works_for_an_upload(home: Path, labelled: Path) -> None:
    data = load_dataset(labelled, 32)
    cfg = ModelConfig(arch="acgan", image_size=32, channels=1, nz=8, ngf=8, num_classes=3, class_names=list(CLASSES))
    notes: list[str] = []
    evaluate = light_evaluator(str(labelled), cfg, n=40, data=data, log=notes.append)
    assert evaluate is not None and any("judge trained on this dataset's own images" in n for n in notes)
    r = evaluate(build_generator(cfg).eval())
    assert set(r) == {"fd", "fd_ratio", "precision", "recall", "class_consistency"} and r["fd"] > 0


def test_the_report_says_why_the_label_free_embedding_measured() -> None:
    from gan_core.eval_report import _judge_line

    name = "label-free embedding: random conv net"
    few = "12 labelled images are too few to train a classifier and test it: 2 would be held out, at least 10 are needed"
    line = _judge_line({"dataset": "up.zip", "judge": name, "judge_note": f"{name}: {few}"})
    assert line.endswith(f"measured with     {name} (no class figures: {few})")
    assert "no judge for this dataset" in _judge_line({"dataset": "up.zip", "judge": name})
