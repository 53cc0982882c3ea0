"""A judge for every dataset: what measures a generator of a dataset the project does not ship a judge for.

- Built-in datasets (mnist, orl-faces): their shipped judge (`judges.judge_for_dataset`).
- A labelled dataset (at least 2 class folders, enough images to hold some out): a JudgeNet
  trained here on the dataset's own images, once, then cached. The split is stated and seeded:
  per class, `HELDOUT_SHARE` of the images (rounded, at least 1 when the class has 2 or more,
  never all of them) are held out with `RandomState(SPLIT_SEED)`; the judge trains on the rest
  and reports its accuracy on the held-out images. Training is bounded: `spec_for(size).passes`
  image presentations (epochs = passes / training images, clamped to [MIN_EPOCHS, MAX_EPOCHS];
  training images capped at passes / MIN_EPOCHS, a seeded subset), about 2 minutes on 2 free cores.
- Anything else (an unlabelled dataset, or too few labelled images to test a classifier): the
  label-free embedding (`embedding`), named as such in every figure it gives.

The cache: one judge folder per dataset fingerprint (the decoded-data cache's fingerprint, which
is the run config's `data.fingerprint`: the files, the image size and channels) under
`locations.dataset_judges_dir()`, in the shipped judges' format (config.json + judge.safetensors,
never a pickle). A folder that cannot be read, or that belongs to other data, is rebuilt with a note.

What the FD responds to (one real half changed by a pixel transform, against the other half, over
the real-vs-real baseline; the README's Benchmarks section says how to measure it for any dataset):
the judges read grey levels nobody sees. On the two 10,000-image labelled test sets at 32 px
(Animal-MNIST; MNIST t10k), whose backgrounds are black: every pixel brightened by 2 grey levels
read 1.8x and 4.5x, by 8 read 45x and 180x; contrast x0.95 58x and 83x; a 0.5 px Gaussian blur 54x
and 9.8x; noise of sd 2 grey levels 0.96x and 1.8x; a 1 px shift 1.2x and 1.2x. (MNIST's shipped
judge, on two 10,000-image halves of its training split: +2 grey levels 2.5x, +8 166x.) A
generator's FD over the baseline therefore
counts a faint grey haze on a black background, or edges a little softer than the pictures', as
heavily as wrong shapes: read it beside the samples and the class figures.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Union

import numpy as np

from .embedding import RandomEmbedding, embedding_for
from .errors import CheckpointError
from .judges import DATASET_JUDGE, Judge, JudgeConfig, base_dataset, judge_for_dataset, load_judge, save_judge
from .locations import dataset_judges_dir

HELDOUT_SHARE = 0.2
SPLIT_SEED = 0
MIN_EPOCHS, MAX_EPOCHS = 3, 60
MIN_HELDOUT = 10  # fewer held-out images cannot say how good a judge is: the label-free embedding measures

Measure = Union[Judge, RandomEmbedding]


@dataclass(frozen=True)
class DatasetJudgeSpec:
    """How a judge of a user's dataset is shaped and trained, by the images' side."""

    image_size: int
    width: int
    feature_dim: int
    shift: int  # random shifts of up to this many pixels (no flips: a class may depend on the side)
    batch_size: int
    lr: float
    passes: int  # image presentations in all: bounds the training time


def spec_for(image_size: int) -> DatasetJudgeSpec:
    """Pictures up to 32 px are judged at 32 px, larger ones at 64 px, both by a JudgeNet of width 16
    (the faces judge's; a quarter of the digits judge's work per image). A 64 px image costs it about
    3x a 32 px one, hence fewer passes; both bounds aim at about 2 minutes on 2 free cores."""
    if image_size <= 32:
        return DatasetJudgeSpec(32, width=16, feature_dim=64, shift=2, batch_size=128, lr=3e-3, passes=40_000)
    return DatasetJudgeSpec(64, width=16, feature_dim=64, shift=4, batch_size=64, lr=3e-3, passes=15_000)


def heldout_split(labels: np.ndarray, share: float = HELDOUT_SHARE,
                  seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """(training indices, held-out indices), disjoint, together all of `labels`' indices. Per class:
    round(share x count) held out, at least 1 when the class has 2 or more images, never all of them."""
    rng = np.random.RandomState(seed)
    train, test = [], []
    for k in np.unique(labels):
        idx = np.flatnonzero(labels == k)
        rng.shuffle(idx)
        n = len(idx)
        h = 0 if n < 2 else min(n - 1, max(1, int(round(n * share))))
        test.append(idx[:h])
        train.append(idx[h:])
    cat = lambda parts: np.sort(np.concatenate(parts)).astype(np.int64) if parts else np.zeros(0, np.int64)  # noqa: E731
    return cat(train), cat(test)


def why_no_judge(labels: np.ndarray, num_classes: int) -> str:
    """Why these labels cannot train and test a judge ("" when they can)."""
    if num_classes < 2:
        return "the dataset has no classes (no class folders)" if num_classes == 0 else "the dataset has one class"
    held = len(heldout_split(labels)[1])
    if held < MIN_HELDOUT:
        return (f"{len(labels)} labelled images are too few to train a classifier and test it: "
                f"{held} would be held out, at least {MIN_HELDOUT} are needed")
    return ""


def judge_folder(fingerprint: str) -> Path:
    return dataset_judges_dir() / fingerprint[:32]


def dataset_judge(data, log: Callable[[str], None] = print) -> Judge:
    """The judge of a labelled dataset (an `ImageData`): the cached one when it was built for this
    fingerprint and these classes, else built now and cached. Check `why_no_judge` first."""
    folder = judge_folder(data.fingerprint)
    if folder.exists():
        try:
            judge = load_judge(folder)
            if judge.cfg.fingerprint != data.fingerprint or judge.cfg.class_names != list(data.class_names):
                raise CheckpointError("it was trained on other data")
            return judge
        except CheckpointError as e:
            log(f"note: the cached judge in {folder} cannot be used ({e}); building it again")
    return build_dataset_judge(data, folder, log)


def build_dataset_judge(data, out: Path, log: Callable[[str], None] = print,
                        passes: int | None = None) -> Judge:
    """Train a judge on `data`'s own images with the stated held-out split; save it to `out` atomically."""
    from .judges import train_judge

    labels = np.asarray(data.labels, np.int64)
    spec = spec_for(int(data.images.shape[1]))
    passes = passes or spec.passes
    train_idx, test_idx = heldout_split(labels)
    cap = max(1, passes // MIN_EPOCHS)
    rng = np.random.RandomState(SPLIT_SEED + 1)
    if len(train_idx) > cap:
        train_idx = np.sort(rng.choice(train_idx, cap, replace=False))
    epochs = int(min(MAX_EPOCHS, max(MIN_EPOCHS, passes // max(1, len(train_idx)))))
    cfg = JudgeConfig(name=f"dataset-{data.fingerprint[:8]}", dataset=str(data.source), image_size=spec.image_size,
                      channels=int(data.channels), num_classes=len(data.class_names),
                      class_names=list(data.class_names), width=spec.width, feature_dim=spec.feature_dim,
                      train_images=len(train_idx), test_images=len(test_idx), epochs=epochs,
                      fingerprint=data.fingerprint, heldout_share=HELDOUT_SHARE, split_seed=SPLIT_SEED)
    log(f"building a judge for {data.source}: {len(train_idx):,} training images, {len(test_idx):,} held out "
        f"({HELDOUT_SHARE:.0%} of each class, seed {SPLIT_SEED}), {epochs} epochs; once, cached in {out}")
    t0 = time.perf_counter()
    net, acc = train_judge(cfg, (data.images[train_idx], labels[train_idx]), (data.images[test_idx], labels[test_idx]),
                           epochs=epochs, batch_size=spec.batch_size, lr=spec.lr, flip=False, shift=spec.shift,
                           seed=SPLIT_SEED, log=lambda s: log(f"  judge {s}"))
    cfg.test_accuracy = round(acc, 4)
    cfg.train_seconds = round(time.perf_counter() - t0, 1)
    _save_atomically(out, cfg, net)
    log(f"judge built in {cfg.train_seconds:.0f} s: held-out accuracy {cfg.test_accuracy:.4f} "
        f"on {len(test_idx):,} images")
    return Judge(cfg, net, out)


def _save_atomically(out: Path, cfg: JudgeConfig, net) -> None:
    """Write the judge folder under a temporary name, then swap it in; an unwritable place only
    costs the cache (the judge is still used)."""
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        save_judge(tmp, cfg, net)
        if out.exists():
            shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)


def is_builtin(source: str) -> bool:
    return base_dataset(source) in DATASET_JUDGE


def measure_for(source: str, data, log: Callable[[str], None] = print) -> tuple[Measure, str]:
    """What measures generators of `source` (`data`: its ImageData at the generator's size, for
    uploads), and one line saying which and why."""
    if is_builtin(source):
        judge = judge_for_dataset(source)
        return judge, f"shipped judge {judge.cfg.name}"
    reason = why_no_judge(np.asarray(data.labels), data.num_classes)
    if not reason:
        judge = dataset_judge(data, log)
        return judge, f"judge trained on this dataset's own images ({judge.path})"
    emb = embedding_for(int(data.images.shape[1]), int(data.channels))
    return emb, f"{emb.name}: {reason}"
