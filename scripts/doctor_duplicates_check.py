"""Measure the dataset doctor's near-duplicate detector: precision, recall and time.

    python scripts/doctor_duplicates_check.py [--sheets DIR] [--max-diff 0.1] [--skip-mnist]

Planted sets: N distinct MNIST test digits (random, seed 0) plus 100 near-copies of
some of them, 25 of each kind: shifted by 1-2 px, re-encoded as JPEG (quality 70-95), brightness
changed (+-25..40 grey levels), and all three at once (1 px, +25, JPEG 90). They are written as
files and checked end to end with `inspect_dataset`. Precision = confirmed pairs that are a
planted (original, copy) pair / all confirmed pairs; recall = planted pairs confirmed / 100.
N = 2,000 uses the full dHash comparison, N = 10,000 the identical-dHash buckets.

MNIST (60,000 training digits) and ORL faces (400 photos) have no planted copies: the script
reports how many pairs are confirmed and, with --sheets, writes contact sheets of them (each
pair side by side) to judge by eye.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gan_core.data import inspect_dataset, near_dups  # noqa: E402
from gan_core.data.builtin import data_root, load_mnist  # noqa: E402

KINDS = ("shift", "jpeg", "brightness", "all three")
PLANTED = 100


def _shift(a: np.ndarray, dy: int, dx: int) -> np.ndarray:
    padded = np.pad(a, 2)
    return padded[2 - dy : 2 - dy + a.shape[0], 2 - dx : 2 - dx + a.shape[1]]


def _brighter(a: np.ndarray, by: int) -> np.ndarray:
    return np.clip(a.astype(np.int16) + by, 0, 255).astype(np.uint8)


def plant(root: Path, base: int, seed: int = 0) -> set[frozenset[str]]:
    """Write `base` distinct MNIST test digits and PLANTED near-copies; returns the planted pairs."""
    images, _ = load_mnist("test")
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(images), base, replace=False) if base <= len(images) else None
    if picks is None:  # more than the test split: add training digits
        train, _ = load_mnist("train")
        images = np.concatenate([images, train])
        picks = rng.choice(len(images), base, replace=False)
    root.mkdir(parents=True)
    for k, i in enumerate(picks):
        Image.fromarray(images[i]).save(root / f"{k:05d}.png")
    pairs = set()
    for c, k in enumerate(rng.choice(base, PLANTED, replace=False)):
        original, kind = images[picks[k]], KINDS[c % 4]
        name = f"copy{c:03d}-{kind.replace(' ', '')}-of-{k:05d}"
        if kind == "shift":
            dy, dx = [int(v) for v in rng.choice([-2, -1, 1, 2], 2)]
            Image.fromarray(_shift(original, dy, dx)).save(root / f"{name}.png")
        elif kind == "jpeg":
            Image.fromarray(original).save(root / f"{name}.jpg", quality=int(rng.integers(70, 96)))
        elif kind == "brightness":
            Image.fromarray(_brighter(original, int(rng.choice([-40, -25, 25, 40])))).save(root / f"{name}.png")
        else:
            buf = io.BytesIO()
            Image.fromarray(_brighter(_shift(original, 1, 0), 25)).save(buf, "JPEG", quality=90)
            (root / f"{name}.jpg").write_bytes(buf.getvalue())
        pairs.add(frozenset({f"{k:05d}.png", name + (".jpg" if kind in ("jpeg", "all three") else ".png")}))
    return pairs


def check_planted(base: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        planted = plant(Path(tmp) / "set", base)
        start = time.perf_counter()
        report = inspect_dataset(str(Path(tmp) / "set"), 32, preview=0)
        seconds = time.perf_counter() - start
    found = {frozenset({a, b}) for a, b, _ in report.near_duplicates}
    if len(found) < report.near_duplicate_count:
        raise SystemExit(f"only {len(found)} of {report.near_duplicate_count} confirmed pairs are listed")
    hits = found & planted
    by_kind = {kind: sum(1 for p in hits if any(kind.replace(" ", "") in n for n in p)) for kind in KINDS}
    return {"set": f"MNIST {base:,} + {PLANTED} planted", "images": report.num_images, "confirmed": len(found),
            "precision": len(hits) / len(found) if found else float("nan"), "recall": len(hits) / len(planted),
            "seconds": seconds, "by_kind": by_kind, "false": sorted(tuple(sorted(p)) for p in found - planted)[:5]}


def _sheet(pairs: list[tuple[np.ndarray, np.ndarray]], path: Path, side: int = 56) -> None:
    tiles = []
    for a, b in pairs:
        a, b = (np.asarray(Image.fromarray(x).convert("L").resize((side, side))) for x in (a, b))
        tiles.append(np.concatenate([a, np.full((side, 2), 128, np.uint8), b, np.full((side, 8), 255, np.uint8)], 1))
    while len(tiles) % 6:
        tiles.append(np.full_like(tiles[0], 255))
    rows = [np.concatenate(tiles[i : i + 6], 1) for i in range(0, len(tiles), 6)]
    Image.fromarray(np.concatenate([np.pad(r, ((0, 6), (0, 0)), constant_values=255) for r in rows])).save(path)


def check_builtin(name: str, sheets: Path | None) -> dict:
    start = time.perf_counter()
    mnist = name == "mnist"
    report = inspect_dataset(name, 32 if mnist else 64, preview=0, split="train" if mnist else "all")
    seconds = time.perf_counter() - start
    if sheets is not None and report.near_duplicates:
        if name == "mnist":
            images = load_mnist("train")[0]
            load = lambda rel: images[int(rel.split("/")[1])]  # noqa: E731
        else:
            load = lambda rel: np.asarray(Image.open(data_root() / "orl_faces" / rel))  # noqa: E731
        rng = np.random.default_rng(0)
        sample = sorted(rng.choice(len(report.near_duplicates), min(36, len(report.near_duplicates)), replace=False))
        _sheet([(load(report.near_duplicates[k][0]), load(report.near_duplicates[k][1])) for k in sample],
               sheets / f"{name}-confirmed-pairs.png")
    same_class = "n/a"
    if name == "mnist":
        labels = load_mnist("train")[1]
        same = sum(labels[int(a.split("/")[1])] == labels[int(b.split("/")[1])] for a, b, _ in report.near_duplicates)
        same_class = f"{same}/{len(report.near_duplicates)}"
    return {"set": name, "images": report.num_images, "confirmed": report.near_duplicate_count, "seconds": seconds,
            "same_class": same_class}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sheets", type=Path, help="write contact sheets of confirmed pairs here")
    parser.add_argument("--max-diff", type=float, help="try another NEAR_DUP_MAX_DIFF")
    parser.add_argument("--skip-mnist", action="store_true", help="skip the 60,000-image MNIST run")
    args = parser.parse_args()
    if args.max_diff is not None:
        near_dups.NEAR_DUP_MAX_DIFF = args.max_diff
    if args.sheets:
        args.sheets.mkdir(parents=True, exist_ok=True)
    print(f"threshold NEAR_DUP_MAX_DIFF = {near_dups.NEAR_DUP_MAX_DIFF}, thumbnails {near_dups.THUMB_SIDE} px")
    print(f"{'set':<28}{'images':>8}{'confirmed':>11}{'precision':>11}{'recall':>8}{'time s':>8}  recall by kind")
    for base in (2000, 10000):
        r = check_planted(base)
        kinds = ", ".join(f"{k} {v}/{PLANTED // 4}" for k, v in r["by_kind"].items())
        print(f"{r['set']:<28}{r['images']:>8,}{r['confirmed']:>11,}{r['precision']:>11.1%}{r['recall']:>8.0%}"
              f"{r['seconds']:>8.1f}  {kinds}")
        for pair in r["false"]:
            print(f"{'':<28}not planted: {pair[0]} ~ {pair[1]}")
    for name in ("orl-faces",) + (() if args.skip_mnist else ("mnist",)):
        r = check_builtin(name, args.sheets)
        print(f"{r['set']:<28}{r['images']:>8,}{r['confirmed']:>11,}{'see sheet':>11}{'-':>8}{r['seconds']:>8.1f}"
              f"  same class: {r['same_class']}")


if __name__ == "__main__":
    main()
