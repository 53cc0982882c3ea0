"""Latent-space tools: seeded z, the seed's class, truncation, lerp/slerp, keyframe walks, class blends, directions.

A latent is named by its seed: `z_from_seed(seed, nz)` uses NumPy's legacy Mersenne Twister
Gaussian (as StyleGAN does), which gives the same numbers on every machine and platform. So is
its class when none is chosen: `seed_class(seed, num_classes)` is the one rule for that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

EASINGS = ("linear", "ease-in-out", "ease-in", "ease-out", "cubic")
MODES = ("slerp", "lerp")  # interpolation paths between two latents
MAX_SEED = 2**32 - 1


def _checked_seed(seed: int) -> int:
    if not 0 <= int(seed) <= MAX_SEED:
        raise ValueError(f"seed must be between 0 and {MAX_SEED}, got {seed}")
    return int(seed)


def z_from_seed(seed: int, nz: int) -> np.ndarray:
    """(nz,) float32, identical on every machine for the same seed (0 <= seed < 2**32)."""
    return np.random.RandomState(_checked_seed(seed)).randn(nz).astype(np.float32)


def z_batch(seeds: Sequence[int], nz: int) -> np.ndarray:
    """(len(seeds), nz) float32: one seeded latent per seed, each equal to `z_from_seed`.

    One generator re-seeded per row (re-seeding also clears its cached Gaussian) gives the same
    numbers ~20x faster than building a generator per seed: 10,000 latents in 0.13 s, not 2.7 s."""
    out = np.zeros((len(seeds), nz), np.float32)
    rs = np.random.RandomState()
    for i, s in enumerate(seeds):
        rs.seed(_checked_seed(s))
        out[i] = rs.randn(nz)
    return out


def seed_class(seed: int, num_classes: int) -> int:
    """THE class rule: the class a class-conditional model draws for a seed when no class is
    chosen is seed % num_classes (renders, recipes, grids and the API all call this)."""
    if num_classes < 1:
        raise ValueError("an unconditional model has no classes")
    return int(seed) % int(num_classes)


def truncate(z: np.ndarray, psi: float, center: np.ndarray | None = None) -> np.ndarray:
    """Truncation trick: pull z towards the centre of the prior (0 for N(0, I)) by psi.

    psi = 1 leaves z unchanged; psi < 1 trades variety for typical, cleaner images.
    """
    c = np.zeros_like(z) if center is None else center
    return (c + psi * (z - c)).astype(np.float32)


def lerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    if t == 0.0:
        return a.astype(np.float32, copy=True)
    if t == 1.0:
        return b.astype(np.float32, copy=True)
    return ((1.0 - t) * a + t * b).astype(np.float32)


def slerp(a: np.ndarray, b: np.ndarray, t: float, eps: float = 1e-4) -> np.ndarray:
    """Spherical interpolation along the great circle between a and b (Shoemake 1985).

    Endpoints are returned exactly; nearly parallel (or anti-parallel) vectors, where the
    formula divides by ~0, fall back to lerp.
    """
    if t == 0.0:
        return a.astype(np.float32, copy=True)
    if t == 1.0:
        return b.astype(np.float32, copy=True)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    na, nb = np.linalg.norm(a64), np.linalg.norm(b64)
    if na < 1e-12 or nb < 1e-12:
        return lerp(a, b, t)
    cos = float(np.clip(np.dot(a64 / na, b64 / nb), -1.0, 1.0))
    omega = math.acos(cos)
    so = math.sin(omega)
    if so < eps:
        return lerp(a, b, t)
    out = (math.sin((1.0 - t) * omega) / so) * a64 + (math.sin(t * omega) / so) * b64
    return out.astype(np.float32)


def interpolate(a: np.ndarray, b: np.ndarray, t: float, mode: str = "slerp") -> np.ndarray:
    if mode == "lerp":
        return lerp(a, b, t)
    if mode == "slerp":
        return slerp(a, b, t)
    raise ValueError(f"interpolation mode must be one of {', '.join(MODES)}, got {mode!r}")


def ease(t: float, kind: str = "linear") -> float:
    """Map t in [0, 1] through an easing curve (keeps 0 -> 0 and 1 -> 1)."""
    t = min(1.0, max(0.0, float(t)))
    if kind == "linear":
        return t
    if kind == "ease-in-out":  # smoothstep
        return t * t * (3.0 - 2.0 * t)
    if kind == "ease-in":
        return t * t
    if kind == "ease-out":
        return 1.0 - (1.0 - t) * (1.0 - t)
    if kind == "cubic":  # cubic ease-in-out
        return 4 * t ** 3 if t < 0.5 else 1 - (-2 * t + 2) ** 3 / 2
    raise ValueError(f"easing must be one of {', '.join(EASINGS)}, got {kind!r}")


def walk_position(n_keys: int, u: float, easing: str = "linear", loop: bool = False) -> tuple[int, int, float]:
    """Position u in [0, 1] along a keyframe path -> (key i, key j, eased t between them)."""
    segments = n_keys if loop else n_keys - 1
    if segments < 1:
        return 0, 0, 0.0
    x = min(max(u, 0.0), 1.0) * segments
    i = min(int(x), segments - 1)
    return i, (i + 1) % n_keys, ease(x - i, easing)


def walk(keys: np.ndarray, n_frames: int, mode: str = "slerp", easing: str = "linear",
         loop: bool = False) -> np.ndarray:
    """Frames (n_frames, nz) through keyframes (K, nz): A -> B -> C ..., eased within each leg."""
    if n_frames < 1:
        raise ValueError("n_frames must be at least 1")
    if len(keys) == 1:
        return np.repeat(keys[:1], n_frames, axis=0).astype(np.float32)
    frames = []
    for f in range(n_frames):
        u = f / n_frames if loop else (f / (n_frames - 1) if n_frames > 1 else 0.0)
        i, j, t = walk_position(len(keys), u, easing, loop)
        frames.append(interpolate(keys[i], keys[j], t, mode))
    return np.stack(frames)


def blend_embeddings(table: np.ndarray, class_a: int, class_b: int, mix: float) -> np.ndarray:
    """(K, nz) class embedding table -> the embedding (1 - mix) * E[a] + mix * E[b]."""
    if mix == 0.0:
        return table[class_a].astype(np.float32, copy=True)
    if mix == 1.0:
        return table[class_b].astype(np.float32, copy=True)
    return ((1.0 - mix) * table[class_a] + mix * table[class_b]).astype(np.float32)


@dataclass
class Directions:
    """Unit directions in z space (K, nz), ordered by the variance they explain."""

    vectors: np.ndarray  # (K, nz) float32, unit norm
    variance: np.ndarray  # (K,) fraction of the early-activation variance along each component

    def apply(self, z: np.ndarray, values: Sequence[float]) -> np.ndarray:
        """z + sum_k values[k] * direction_k (values in units of the prior's std, ~[-3, 3])."""
        out = z.astype(np.float32, copy=True)
        for k, v in enumerate(values[: len(self.vectors)]):
            if v:
                out += np.float32(v) * self.vectors[k]
        return out


@torch.no_grad()
def find_directions(generator: torch.nn.Module, nz: int, k: int = 10, n_samples: int = 2000,
                    seed: int = 0, num_classes: int = 0) -> Directions:
    """GANSpace-style directions (Härkönen et al. 2020) for generators without a mapping net.

    PCA of the generator's first-layer activations over random z, then a least-squares map
    from PCA coordinates back to z; each column of that map is a z-space direction whose
    movement follows one principal component. Ordered by explained variance.
    """
    rng = np.random.RandomState(seed)
    z = torch.from_numpy(rng.randn(n_samples, nz).astype(np.float32))
    labels = torch.from_numpy(rng.randint(0, num_classes, n_samples)) if num_classes else None
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    feats = generator.early_features(z.to(device), None if labels is None else labels.to(device))
    feats = feats.double().cpu()  # (N, D)
    generator.train(was_training)
    x = feats - feats.mean(0, keepdim=True)
    k = max(1, min(k, nz, n_samples - 1))
    # top-k principal axes of the activations via a randomised low-rank SVD, seeded so the same
    # checkpoint gives the same directions in every process (the caller's RNG is left untouched)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        _, s, v = torch.svd_lowrank(x, q=min(k + 10, min(x.shape)), niter=4)
    axes = v[:, :k]  # (D, k)
    coords = x @ axes  # (N, k)
    coords = coords / coords.std(0, keepdim=True).clamp_min(1e-12)
    w = torch.linalg.lstsq(coords, z.double()).solution  # (k, nz): PCA coordinate -> z
    vectors = (w / w.norm(dim=1, keepdim=True).clamp_min(1e-12)).float().numpy()
    total = float((x ** 2).sum())
    variance = (s[:k] ** 2 / total).float().numpy() if total > 0 else np.zeros(k, np.float32)
    return Directions(vectors=vectors, variance=variance)
