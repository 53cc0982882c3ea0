"""The dataset doctor's near-duplicates: proposed by a dHash, confirmed on pixels, counted once."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from gan_core.data import inspect_dataset, near_dups
from gan_core.data.builtin import load_mnist
from ui import doctor_view


def digit(i: int) -> np.ndarray:
    """A distinct MNIST test digit (28x28 uint8, mostly black)."""
    return load_mnist("test")[0][i]


def shape(kind: str) -> Image.Image:
    """Small mostly-black pictures: a bar, and the same bar cut in two (different, equal dHash)."""
    im = Image.new("L", (28, 28), 0)
    draw = ImageDraw.Draw(im)
    if kind in ("bar", "dashed"):
        draw.rectangle([12, 6, 15, 21], fill=230)
    if kind == "dashed":
        draw.rectangle([12, 11, 15, 13], fill=0)
    return im


def shifted(a: np.ndarray, dy: int, dx: int) -> np.ndarray:
    padded = np.pad(a, 2)
    return padded[2 - dy : 2 - dy + a.shape[0], 2 - dx : 2 - dx + a.shape[1]]


def jpeg(a: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def planted_folder(root: Path, base: int = 40) -> set[frozenset[str]]:
    """`base` distinct digits (test indices 100..) and copies of four of them; the planted pairs."""
    root.mkdir()
    for k in range(base):
        Image.fromarray(digit(100 + k)).save(root / f"{k:02d}.png")
    Image.fromarray(shifted(digit(101), 2, -1)).save(root / "shifted.png")
    (root / "reencoded.jpg").write_bytes(jpeg(digit(100), 80))
    Image.fromarray(np.clip(digit(102).astype(int) + 40, 0, 255).astype(np.uint8)).save(root / "brighter.png")
    darker = np.clip(shifted(digit(103), 1, 1).astype(int) - 30, 0, 255).astype(np.uint8)
    (root / "all.jpg").write_bytes(jpeg(darker, 90))
    return {frozenset(p) for p in (("01.png", "shifted.png"), ("00.png", "reencoded.jpg"),
                                   ("02.png", "brighter.png"), ("03.png", "all.jpg"))}


def test_planted_copies_are_confirmed_and_nothing_else(tmp_path: Path) -> None:
    planted = planted_folder(tmp_path / "set")
    report = inspect_dataset(str(tmp_path / "set"), 32)
    assert {frozenset(p[:2]) for p in report.near_duplicates} == planted
    assert report.near_duplicate_count == len(report.near_duplicates) == 4
    assert all(0 <= diff <= near_dups.NEAR_DUP_MAX_DIFF for _, _, diff in report.near_duplicates)
    assert [p[2] for p in report.near_duplicates] == sorted(p[2] for p in report.near_duplicates)  # most alike first
    assert report.exact_duplicates == []


def test_neighbour_candidates_above_the_full_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Big sets do not compare every pair of dHashes: sorted neighbours still find the copies."""
    planted = planted_folder(tmp_path / "set")
    monkeypatch.setattr(near_dups, "NEAR_DUP_FULL_LIMIT", 10)
    report = inspect_dataset(str(tmp_path / "set"), 32)
    assert {frozenset(p[:2]) for p in report.near_duplicates} == planted


def test_look_alikes_with_equal_dhash_are_not_reported(tmp_path: Path) -> None:
    bar, dashed = shape("bar"), shape("dashed")
    mids = np.stack([np.asarray(im.resize((near_dups.MID_SIDE,) * 2, Image.BILINEAR)) for im in (bar, dashed)])
    thumbs, hashes = near_dups.fingerprints(mids)
    assert hashes[0] == hashes[1]  # the hash alone would call them duplicates
    diff = near_dups.pixel_difference(thumbs[:1].reshape(1, -1), thumbs[1:].reshape(1, -1))[0]
    assert diff > 3 * near_dups.NEAR_DUP_MAX_DIFF  # ... but their pixels do not
    (tmp_path / "set").mkdir()
    bar.save(tmp_path / "set" / "bar.png")
    dashed.save(tmp_path / "set" / "dashed.png")
    report = inspect_dataset(str(tmp_path / "set"), 32)
    assert report.near_duplicates == [] and report.near_duplicate_count == 0
    assert not any("duplicate" in a for a in report.advice)


def test_shifted_copy_gets_the_same_thumbnail() -> None:
    a = digit(7)
    mids = np.stack([np.asarray(Image.fromarray(x).resize((near_dups.MID_SIDE,) * 2, Image.BILINEAR))
                     for x in (a, shifted(a, 2, 2), shifted(a, -2, 1))])
    thumbs, hashes = near_dups.fingerprints(mids)
    diffs = near_dups.pixel_difference(thumbs[[0, 0]].reshape(2, -1), thumbs[[1, 2]].reshape(2, -1))
    assert (diffs < near_dups.NEAR_DUP_MAX_DIFF).all()
    assert max(int(np.bitwise_count(hashes[0] ^ h)) for h in hashes[1:]) <= near_dups.NEAR_DUP_BITS


def test_the_list_is_capped_but_the_count_is_not() -> None:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (6, near_dups.THUMB_SIDE, near_dups.THUMB_SIDE), dtype=np.uint8)
    thumbs = np.concatenate([base, base])  # six pairs, each image with its twin
    hashes = np.tile(np.array([0x0, 0xFF, 0xFF00, 0xFF0000, 0xFF000000, 0xFF00000000], dtype=np.uint64), 2)
    names = [f"img{i}" for i in range(12)]
    found = near_dups.near_duplicates(names, hashes, thumbs, limit=3)
    assert found.total == 6 and found.candidates == 6 and len(found.pairs) == 3
    assert all(b == f"img{int(a[3:]) + 6}" and diff == 0 for a, b, diff in found.pairs)
    none = near_dups.near_duplicates([], np.zeros(0, np.uint64), np.zeros((0, near_dups.THUMB_SIDE, near_dups.THUMB_SIDE)))
    assert (none.pairs, none.total, none.candidates) == ([], 0, 0)


def test_counts_agree_between_metric_advice_and_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    planted_folder(tmp_path / "set", base=8)  # 4 confirmed pairs among 12 images: "many"
    monkeypatch.setattr(near_dups, "MAX_REPORTED_PAIRS", 2)
    report = inspect_dataset(str(tmp_path / "set"), 32)
    assert report.near_duplicate_count == 4 and len(report.near_duplicates) == 2
    assert doctor_view.summary(report)["near_duplicate_pairs"] == 4  # the metric
    advice = next(a for a in report.advice if "near-duplicate" in a)
    assert advice.startswith("many duplicates: 4 near-duplicate pairs (confirmed on pixels: after centring")
    assert f"differ by less than {near_dups.NEAR_DUP_MAX_DIFF:.0%} of the pixel spread" in advice
    assert advice.endswith("remove the extra copies so the GAN does not memorise them")
    assert doctor_view.duplicates_heading(report, shown=8) == (
        "Duplicates: 0 identical groups, 4 near-identical pairs (showing 2 of 4)")
    caption = doctor_view.near_duplicate_caption(report.near_duplicates[0])
    assert "pixels differ by" in caption and "hash bits" not in caption


def test_few_duplicates_are_reported_without_advising_removal(tmp_path: Path) -> None:
    planted_folder(tmp_path / "set", base=120)
    report = inspect_dataset(str(tmp_path / "set"), 32)
    advice = next(a for a in report.advice if "near-duplicate" in a)
    assert advice.startswith("4 near-duplicate pairs (confirmed on pixels") and advice.endswith("found")
    assert "remove" not in advice


def test_upscaling_advice_knows_the_smallest_model_size(tmp_path: Path) -> None:
    (tmp_path / "set").mkdir()
    for k in range(3):
        Image.fromarray(digit(k)).save(tmp_path / "set" / f"{k}.png")
    at_32 = " | ".join(inspect_dataset(str(tmp_path / "set"), 32).advice)
    assert "upscaled from 28x28" in at_32 and "32 px is already the smallest size" in at_32
    assert "smaller image size" not in at_32
    at_64 = " | ".join(inspect_dataset(str(tmp_path / "set"), 64).advice)
    assert "a smaller image size (32 px) may look sharper" in at_64


def test_a_moved_or_recoloured_look_alike_is_not_a_copy(tmp_path: Path) -> None:
    """Centring forgives any shift and grey normalising any colour, so the same shape elsewhere or
    in another colour matched on pixels alone (471 pairs among 129 coloured shapes); a copy is only
    slightly moved and only brightened, so those are required too (NEAR_DUP_MAX_SHIFT / _TINT)."""
    def bar(x: int, y: int, colour: tuple[int, int, int], lift: int = 0) -> Image.Image:
        im = Image.new("RGB", (40, 40), (20 + lift, 30 + lift, 25 + lift))
        ImageDraw.Draw(im).rectangle([x, y, x + 4, y + 16], fill=tuple(min(255, c + lift) for c in colour))
        return im

    root = tmp_path / "bars"
    root.mkdir()
    bar(6, 6, (200, 60, 60)).save(root / "a.png")
    bar(6, 6, (200, 60, 60), lift=30).save(root / "a-brighter.png")  # a copy
    bar(26, 20, (200, 60, 60)).save(root / "moved.png")  # the same bar, half the picture away
    bar(6, 6, (60, 200, 60)).save(root / "green.png")  # the same bar in another colour
    pairs = {(a, b) for a, b, _ in inspect_dataset(str(root), 32).near_duplicates}
    assert pairs == {("a-brighter.png", "a.png")}
