"""python -m gan_core.evaluate: measure a generator against its dataset with the project's judges.

    python -m gan_core.evaluate --checkpoint checkpoints/mnist-acgan [--n 10000] [--json]
    python -m gan_core.evaluate --checkpoint app_data/runs/my-upload-run     # any run, any dataset
    python -m gan_core.evaluate --train-judge digits   # or faces: reproduce the shipped judges

What measures (`dataset_judges.measure_for`): the shipped judge for mnist and orl-faces; for a
labelled upload a judge trained once on the dataset's own images (seeded held-out split, cached
by the data's fingerprint; its held-out accuracy is reported); for an unlabelled upload the
label-free embedding (a fixed random conv net, `embedding`), named as such in the output.

Reported, on N generated samples (seeds 0..N-1; conditional classes spread evenly):
  fd / fd_real_baseline   Fréchet distance in the judge's penultimate features, beside the same
                          distance between two disjoint halves of the real data
  kid                     kernel distance (KID) in the same features, beside its real-vs-real figure
  precision / recall      k=3 nearest-neighbour manifolds (Kynkäänniemi et al. 2019)
  class_consistency       conditional: share of samples the judge reads as the requested class (+ per class)
  class_histogram         share of samples per judged class (mode coverage); judges only
  memorisation            each sample's RMS pixel distance to its nearest training image, against
                          the same for held-out real images (uploads: each real image's distance to
                          its nearest *other* image); a generator that replays its training set sits
                          far below the held-out figure

This module renders the samples, prepares the real reference (its judge features cached beside
the decoded datasets) and runs the measurement; the formulas are in `metrics`, the judges (their
registry and training) in `judges` and `dataset_judges`, the printed table in `eval_report`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from .checkpoints import RUN_CHECKPOINTS, load_generator, resolve
from .cli import positive_int, run_main
from .config import ModelConfig
from .errors import ConfigError
from .eval_report import format_table
from .dataset_judges import Measure, is_builtin, measure_for
from .judges import JUDGES, Judge, JudgeConfig, build_judge, has_judge, judge_for_dataset, load_judge, reference_splits
from .latent import z_batch
from .metrics import (class_consistency, class_mix_fd, even_subset, frechet_distance, kernel_distance,
                      memorisation_figures, nearest_distances, precision_recall)
from .networks import for_inference
from .sample import spread_labels

MEMO_SAMPLES = 2000
# samples per evaluation: the trainer's quick judgements (--eval-every) and the full one (the CLI).
# The quick one's FD ratio reads lower than the full one's: on MNIST t10k a run's last judgement
# read 1.5x where the CLI's 10,000-sample figure was 4.0x.
LIGHT_SAMPLES = 1000
# a judged run's end: its best and latest checkpoints compared on this many samples from this first
# seed, apart from the run's own judgements' latents (`training.Trainer.rejudge_best`)
REJUDGE_SAMPLES, REJUDGE_SEED = 5000, 1_000_000
FULL_SAMPLES = 10_000


@torch.no_grad()
def render(generator: torch.nn.Module, cfg: ModelConfig, n: int, seed: int = 0,
           batch: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """N images (seeds seed..seed+N-1) and their requested labels (-1 for unconditional).

    On a CPU batches of 32 keep a layer's activations in cache: 10,000 faces rendered ~30% faster
    than in batches of 500 on a 2-core AVX2 machine (digits ~25%). GPUs take 500 at a time."""
    from .device import inference_autocast
    from .images import to_uint8

    labels = spread_labels(n, cfg.num_classes) if cfg.conditional else np.full(n, -1, np.int64)
    generator = for_inference(generator)  # kernels built once for the whole render, not per batch
    device = next(generator.parameters()).device
    batch = batch or (32 if device.type == "cpu" else 500)
    out = []
    with inference_autocast(device):  # bulk rendering in bf16 where native (2-3x faster on this CPU)
        for i in range(0, n, batch):
            z = torch.from_numpy(z_batch(range(seed + i, seed + min(n, i + batch)), cfg.nz)).to(device)
            if cfg.conditional:
                x = generator(z, torch.from_numpy(labels[i:i + batch]).to(device))
            else:
                x = generator(z)
            out.append(to_uint8(x.float()))
    return np.concatenate(out), labels


def class_map(gen_names: list[str], judge_cfg: JudgeConfig) -> np.ndarray | None:
    """generator class index -> judge class index, matched by name; None if any name is missing."""
    lookup = {name: i for i, name in enumerate(judge_cfg.class_names)}
    if not gen_names or any(n not in lookup for n in gen_names):
        return None
    return np.array([lookup[n] for n in gen_names], dtype=np.int64)


@dataclass
class Reference:
    """Real data and its judge features, prepared once per (dataset, size)."""

    train_images: np.ndarray
    test_images: np.ndarray | None  # None for an upload (no held-out split: leave-one-out distances)
    feats_a: np.ndarray  # one half of the training features
    feats_b: np.ndarray  # the other half (disjoint), for the real-vs-real baseline
    labels_b: np.ndarray | None = None  # half b's dataset labels, mapped to the judge's classes
    data_key: str = ""  # both splits' fingerprints: names cached arrays derived from the real data only
    _heldout_nn: np.ndarray | None = field(default=None, init=False, repr=False)

    def heldout_nn(self) -> np.ndarray:
        """Each of the first MEMO_SAMPLES held-out images' distance to its nearest training image.

        It depends on the real data alone, so it is computed once and cached beside the decoded
        datasets (a second evaluation of the same dataset skips ~4 s of nearest-neighbour search)."""
        if self._heldout_nn is None:
            if self.test_images is not None:
                held = self.test_images[:MEMO_SAMPLES]
                self._heldout_nn = _cached_array(f"heldout-nn|{self.data_key}|{len(held)}", (len(held),),
                                                 lambda: nearest_distances(held, self.train_images))
            else:  # every image the generator saw: each one's distance to its nearest *other* image
                pick = even_subset(len(self.train_images), MEMO_SAMPLES)
                self._heldout_nn = _cached_array(
                    f"loo-nn|{self.data_key}|{len(pick)}", (len(pick),),
                    lambda: nearest_distances(self.train_images[pick], self.train_images, skip=pick))
        return self._heldout_nn


def _cached_array(key: str, shape: tuple[int, ...], compute: Callable[[], np.ndarray]) -> np.ndarray:
    """`compute()`, saved as .npy in the data cache folder under a hash of `key` and read back
    next time when its shape matches; an unwritable cache only costs the time."""
    import hashlib
    import os

    from .data.paths import default_cache_dir

    name = key.split("|", 1)[0]
    path = default_cache_dir() / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:24]}.npy"
    try:
        arr = np.load(path)
        if arr.shape == shape:
            return arr
    except (OSError, ValueError):
        pass
    arr = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}.npy")
        np.save(tmp, arr)
        os.replace(tmp, path)
    except OSError:
        pass
    return arr


def load_upload(source: str, image_size: int, channels: int, log: Callable[[str], None] | None = None) -> Any:
    """An uploaded dataset as a generator of this size and channels was trained on it: channels
    decided from the data as the trainer does (the same fingerprint), unless they differ."""
    from .data import load_dataset

    data = load_dataset(source, image_size, channels=0, warn=log)
    if data.channels != channels:
        data = load_dataset(source, image_size, channels=channels, warn=log)
    return data


def reference_halves(count: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the two disjoint real halves (a, b) a generator is measured against: at most n
    images each, drawn from `count` with `RandomState(seed)`."""
    perm = np.random.RandomState(seed).permutation(count)
    half = min(n, count // 2)
    return perm[:half], perm[half:2 * half]


def prepare_reference(judge: Measure, source: str, image_size: int, channels: int, n: int, seed: int = 0,
                      data: Any = None) -> Reference:
    """The real images and the judge's features of two disjoint halves of the training split
    (a built-in dataset's training split; all of an uploaded dataset, `data` when given).

    The features are cached next to the decoded datasets, keyed by the judge's weights and the
    data's fingerprint, so later evaluations of the same dataset skip the 2n judge passes."""
    if is_builtin(source):
        train, test = reference_splits(source, image_size, channels)
    else:
        train = data if data is not None else load_upload(source, image_size, channels)
        test = None
    idx_a, idx_b = reference_halves(len(train), n, seed)
    half = len(idx_a)
    feats = _cached_array(f"judge-features|{judge.weights_id()}|{train.fingerprint}|{half}|{seed}",
                          (2 * half, judge.cfg.feature_dim),
                          lambda: judge.run(train.images[np.concatenate([idx_a, idx_b])])[0])
    labels_b = None
    to_judge = class_map(list(train.class_names), judge.cfg) if isinstance(judge, Judge) else None
    if to_judge is not None and len(train.labels) == len(train.images):
        labels_b = to_judge[train.labels[idx_b]]
    return Reference(train.images, test.images if test is not None else None, feats[:half], feats[half:2 * half],
                     labels_b, data_key=f"{train.fingerprint}|{test.fingerprint if test is not None else 'loo'}")


def class_mix_floor(ref: Reference, histogram: np.ndarray) -> float | None:
    """FD of real images given the samples' judged class mix: real half b reweighted to the
    proportions `histogram` gives, against real half a (`metrics.class_mix_fd`).

    A generator whose images were perfect but whose classes came in these proportions would
    score about this; the FD above it is image quality. None without labels, or when the
    samples land in a class half b lacks."""
    return class_mix_fd(ref.feats_a, ref.feats_b, ref.labels_b, histogram)


def evaluate_generator(generator: torch.nn.Module, cfg: ModelConfig, judge: Measure, ref: Reference, *,
                       n: int = FULL_SAMPLES, seed: int = 0, memorisation: bool = True, kid: bool = True) -> dict[str, Any]:
    t0 = time.perf_counter()
    images, labels = render(generator, cfg, n, seed)
    t_render = time.perf_counter() - t0
    feats, preds = judge.run(images)
    # The size-matched metrics compare as many samples as the real half holds; the samples are in
    # class order (spread_labels), so take them evenly spaced to keep every class in the subset.
    m = min(len(feats), len(ref.feats_a))
    subset = feats[even_subset(len(feats), m)]
    out: dict[str, Any] = {"n": n, "fd": frechet_distance(feats, ref.feats_a),
                           "fd_real_baseline": frechet_distance(ref.feats_b, ref.feats_a),
                           "fd_size_matched": frechet_distance(subset, ref.feats_a),
                           "real_half_size": len(ref.feats_a)}
    out["fd_ratio"] = out["fd"] / max(out["fd_real_baseline"], 1e-12)
    out["precision"], out["recall"] = precision_recall(ref.feats_a[:m], subset, k=3)
    if kid:  # unbiased, so it compares across sample counts; the real halves give its noise level
        out["kid"], out["kid_std"] = kernel_distance(feats, ref.feats_a)
        out["kid_real_baseline"], _ = kernel_distance(ref.feats_b, ref.feats_a)
    if preds is None:  # the label-free embedding: no classes to read
        if cfg.conditional:
            out["class_consistency"] = None
            out["note"] = "a label-free embedding reads no classes; class consistency skipped"
    else:
        _class_figures(out, preds, labels, cfg, judge, ref)
    if memorisation:
        # samples come in class order: an even subset keeps every class (the first 2,000 of 10,000
        # MNIST samples would be all 0s and 1s, the digits that sit closest to training images)
        pick = even_subset(len(images), MEMO_SAMPLES)
        out["memorisation"] = memorisation_figures(nearest_distances(images[pick], ref.train_images),
                                                   ref.heldout_nn())
        out["memorisation"]["reference"] = ("held-out real" if ref.test_images is not None
                                            else "real images' nearest other image")
    out["render_seconds"] = round(t_render, 2)
    return out


def _class_figures(out: dict[str, Any], preds: np.ndarray, labels: np.ndarray, cfg: ModelConfig, judge: Judge,
                   ref: Reference) -> None:
    """A classifier judge's figures: class consistency (conditional generators), the judged class
    histogram and the class-mix floor of FD."""
    mapping = class_map(list(cfg.class_names), judge.cfg) if cfg.conditional else None
    if cfg.conditional and mapping is not None:
        out["class_consistency"], out["class_consistency_per_class"] = class_consistency(
            preds, mapping[labels], labels, list(cfg.class_names))
    elif cfg.conditional:
        out["class_consistency"] = None
        out["note"] = "the generator's class names do not match the judge's; class consistency skipped"
    counts = np.bincount(preds, minlength=judge.cfg.num_classes) / max(1, len(preds))
    out["class_histogram"] = {judge.cfg.class_names[i]: float(c) for i, c in enumerate(counts)}
    out["fd_class_mix_floor"] = class_mix_floor(ref, counts)


def judge_fields(j: Measure, note: str) -> dict[str, Any]:
    """What an evaluation says about what measured it."""
    out: dict[str, Any] = {"judge": j.name, "judge_kind": j.kind, "judge_note": note}
    if isinstance(j, Judge):
        out.update(judge_test_accuracy=j.cfg.test_accuracy, judge_heldout_images=j.cfg.test_images)
    else:
        out.update(judge_test_accuracy=None)
    return out


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def evaluate_checkpoint(checkpoint: str | Path, *, n: int = FULL_SAMPLES, seed: int = 0, dataset: str | None = None,
                        judge: str | Path | None = None, which: str = "best",
                        log: Callable[[str], None] = _stderr) -> dict[str, Any]:
    """Evaluate a checkpoint folder, or a run directory's `which` checkpoint (`checkpoints.resolve`:
    by default its result, the checkpoint its judge scored best)."""
    t0 = time.perf_counter()
    path = resolve(checkpoint, which)
    g, cfg, meta = load_generator(path)
    g = g.to(memory_format=torch.channels_last)
    source = dataset or meta.get("dataset")
    if not source:
        raise ConfigError(f"{path} does not say which dataset it was trained on; pass --dataset")
    data = None if is_builtin(source) else load_upload(source, cfg.image_size, cfg.channels, log)
    if judge:
        j: Measure = load_judge(judge)
        note = f"judge from {judge}"
    else:
        j, note = measure_for(source, data, log)
    ref = prepare_reference(j, source, cfg.image_size, cfg.channels, n, data=data)
    out = evaluate_generator(g, cfg, j, ref, n=n, seed=seed)
    out.update(checkpoint=str(path), step=meta.get("step"), dataset=source, **judge_fields(j, note),
               arch=cfg.arch, image_size=cfg.image_size, seconds=round(time.perf_counter() - t0, 2))
    return out


def can_judge(source: str) -> bool:
    """Whether generators of `source` can be measured: a built-in dataset needs its shipped judge;
    any other dataset gets a judge trained on its own images, or the label-free embedding."""
    return has_judge(source) if is_builtin(source) else True


def light_evaluator(source: str, cfg: ModelConfig, n: int = LIGHT_SAMPLES, data: Any = None,
                    log: Callable[[str], None] = _stderr, seed: int = 0
                    ) -> Callable[[torch.nn.Module], dict[str, float]] | None:
    """A quick evaluator for the trainer (FD and class consistency on n samples), or None when a
    built-in dataset's shipped judge is missing. For an upload (`data`: the trainer's ImageData)
    the judge is built here when it is not cached yet, before the trainer's clock starts."""
    if not can_judge(source):
        return None
    if is_builtin(source):
        judge: Measure = judge_for_dataset(source)
    else:
        data = data if data is not None else load_upload(source, cfg.image_size, cfg.channels, log)
        judge, note = measure_for(source, data, log)
        log(f"judging every evaluation with the {note}")
    ref = prepare_reference(judge, source, cfg.image_size, cfg.channels, n, data=data)

    def evaluate(generator: torch.nn.Module) -> dict[str, float]:
        r = evaluate_generator(generator, cfg, judge, ref, n=n, seed=seed, memorisation=False, kid=False)
        out = {"fd": r["fd"], "fd_ratio": r["fd_ratio"], "precision": r["precision"], "recall": r["recall"]}
        if r.get("class_consistency") is not None:
            out["class_consistency"] = r["class_consistency"]
        return out

    return evaluate


# -- command line -------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m gan_core.evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--checkpoint", help="checkpoint folder or run directory to evaluate (a run: see --which)")
    p.add_argument("--which", choices=RUN_CHECKPOINTS, default="best",
                   help="for a run directory: best = the run's result, the checkpoint its judge (--eval-every) "
                        "scored best, which Publish takes (the newest when the run was not judged); latest = the "
                        "newest, which a resume continues from")
    mode.add_argument("--train-judge", choices=sorted(JUDGES), help="train (reproduce) a judge")
    p.add_argument("--n", type=positive_int, default=FULL_SAMPLES, help="samples to generate")
    p.add_argument("--seed", type=int, default=0, help="first latent seed")
    p.add_argument("--dataset", help="dataset to compare with (default: the one in the checkpoint's metadata)")
    p.add_argument("--judge", help="judge folder (default: judges/<digits|faces> in the shipped folder, "
                                   "$GAN_STUDIO_SHIPPED or checkpoints/, for mnist and orl-faces; for other "
                                   "datasets a judge trained on their images, cached under $GAN_STUDIO_HOME/judges, "
                                   "or the label-free embedding for unlabelled ones)")
    p.add_argument("--epochs", type=positive_int, help="with --train-judge: epochs (default per judge)")
    p.add_argument("--out", help="with --train-judge: folder to write (default: judges/NAME in the shipped folder)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0 = all cores)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = p.parse_args(argv)
    from .device import set_threads

    set_threads(args.threads)
    if args.train_judge:
        path, cfg = build_judge(args.train_judge, Path(args.out) if args.out else None, args.epochs,
                                log=lambda s: print(s, file=sys.stderr, flush=True))
        print(json.dumps({"judge": str(path), "test_accuracy": cfg.test_accuracy, "train_images": cfg.train_images,
                          "test_images": cfg.test_images, "epochs": cfg.epochs, "seconds": cfg.train_seconds}))
        return 0
    result = evaluate_checkpoint(args.checkpoint, n=args.n, seed=args.seed, dataset=args.dataset, judge=args.judge,
                                 which=args.which)
    print(json.dumps(result) if args.json else format_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
