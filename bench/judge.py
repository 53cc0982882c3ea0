"""`python -m bench judge --dataset SET`: what a judge's FD responds to.

The dataset's real images are cut into the two seeded halves `evaluate` measures a generator against
(`evaluate.reference_halves`, at most `evaluate.FULL_SAMPLES` images each). Half a is changed by one
pixel transform at a time and compared with half b, unchanged, in the judge's features (the shipped
judge of a built-in dataset, the dataset's own judge for a labelled upload, built and cached as
`evaluate` builds it, else the label-free embedding). Each FD is printed over the baseline, FD(a, b).
A generator's FD is read against that baseline, so a transform nobody would see that reads many
times it says how far apart "looks the same" and "measures the same" are for this judge.
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

import numpy as np

Transform = Callable[[np.ndarray, np.random.RandomState], np.ndarray]  # (N, H, W, C) float32 0..255


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """A 3x3 Gaussian of this sigma (px) over each picture, edges replicated."""
    import torch
    import torch.nn.functional as F

    k = np.exp(-np.arange(-1.0, 2.0) ** 2 / (2 * sigma * sigma))
    k2 = torch.from_numpy(np.outer(k, k) / k.sum() ** 2).float()
    t = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))  # (N, C, H, W)
    c = t.shape[1]
    out = F.conv2d(F.pad(t, (1, 1, 1, 1), mode="replicate"), k2.expand(c, 1, 3, 3).contiguous(), groups=c)
    return out.numpy().transpose(0, 2, 3, 1)


TRANSFORMS: dict[str, Transform] = {
    "brightness +2 grey levels": lambda x, rs: x + 2,
    "brightness +8 grey levels": lambda x, rs: x + 8,
    "contrast x0.95 about mid-grey": lambda x, rs: (x - 127.5) * 0.95 + 127.5,
    "noise, sd 2 grey levels": lambda x, rs: x + rs.randn(*x.shape) * 2,
    "noise, sd 6 grey levels": lambda x, rs: x + rs.randn(*x.shape) * 6,
    "blur, Gaussian sd 0.5 px": lambda x, rs: _blur(x, 0.5),
    "shift 1 px right (wrapped)": lambda x, rs: np.roll(x, 1, axis=2),
}


def _reference(source: str, image_size: int, seed: int) -> tuple[Any, Any, np.ndarray]:
    """(the judge, `evaluate`'s reference, real half a's pictures): the real images as `evaluate`
    takes them (a built-in dataset at its shipped judge's size, an upload at `image_size`), with both
    halves' features from `evaluate.prepare_reference`, so the baseline is the one a generator is read against."""
    from gan_core.dataset_judges import is_builtin, measure_for
    from gan_core.evaluate import FULL_SAMPLES, load_upload, prepare_reference, reference_halves

    if is_builtin(source):  # its shipped judge says the size and channels it reads
        judge, _ = measure_for(source, None, lambda msg: None)
        size, channels, data = judge.cfg.image_size, judge.cfg.channels, None
    else:
        data = load_upload(source, image_size, 0)
        judge, _ = measure_for(source, data, lambda msg: None)
        size, channels = image_size, 0
    ref = prepare_reference(judge, source, size, channels, FULL_SAMPLES, seed, data=data)
    idx_a, _ = reference_halves(len(ref.train_images), FULL_SAMPLES, seed)
    return judge, ref, ref.train_images[idx_a]


def judge_sensitivity(source: str, image_size: int = 32, seed: int = 0) -> dict[str, Any]:
    """FD over the real-vs-real baseline for each of `TRANSFORMS` applied to one real half."""
    from gan_core.metrics import frechet_distance

    judge, ref, a = _reference(source, image_size, seed)
    baseline = frechet_distance(ref.feats_b, ref.feats_a)
    a32 = a.astype(np.float32)
    ratios = {}
    for name, change in TRANSFORMS.items():
        changed = np.clip(np.round(change(a32, np.random.RandomState(seed + 1))), 0, 255).astype(np.uint8)
        ratios[name] = round(frechet_distance(judge.run(changed)[0], ref.feats_b) / max(baseline, 1e-12), 3)
    return {"dataset": source, "judge": judge.name, "image_size": int(a.shape[1]), "half_size": len(a),
            "fd_real_baseline": baseline, "fd_over_baseline": ratios}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", required=True, help="a built-in dataset, folder or .zip (as evaluate takes)")
    p.add_argument("--image-size", type=int, default=32,
                   help="an upload's size, as its generators are judged at (a built-in dataset: its shipped judge's)")
    p.add_argument("--json", action="store_true")


def run_cli(args: argparse.Namespace) -> int:
    import json

    r = judge_sensitivity(args.dataset, args.image_size)
    if args.json:
        print(json.dumps(r))
        return 0
    print(f"{r['judge']} on {r['dataset']} at {r['image_size']} px: real-vs-real baseline "
          f"{r['fd_real_baseline']:.4f} ({r['half_size']:,} images a half)")
    for name, ratio in r["fd_over_baseline"].items():
        print(f"{name:>32}: {ratio:g}x the baseline")
    return 0
