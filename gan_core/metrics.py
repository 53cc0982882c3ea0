"""Sample-quality metrics on feature vectors (numpy in, floats out).

- Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017).
- Kernel distance (KID's unbiased MMD^2 with a cubic polynomial kernel, Bińkowski et al. 2018).
- Precision and recall with k-nearest-neighbour manifolds (Kynkäänniemi et al. 2019).
- Nearest-neighbour distances and the memorisation figures built on them.
- Class figures: consistency with the requested class, the FD of the real data in a given class mix.
"""

from __future__ import annotations

import numpy as np
import torch


def frechet_distance(a: np.ndarray, b: np.ndarray, weights_a: np.ndarray | None = None) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) for feature sets (N, D) and (M, D).

    `weights_a` (N,) fits set a's Gaussian with per-row weights, e.g. to give real features
    another class mix without resampling them. The trace of the matrix square root is computed
    from the eigenvalues of S_a^(1/2) S_b S_a^(1/2), which is symmetric, so no complex sqrtm is needed.
    """
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    mu_a, mu_b = np.average(a64, axis=0, weights=weights_a), b64.mean(0)
    s_a, s_b = np.cov(a64, rowvar=False, aweights=weights_a), np.cov(b64, rowvar=False)
    w, v = np.linalg.eigh(s_a)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    m = root_a @ s_b @ root_a
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    d = float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2.0 * tr_sqrt)
    return max(d, 0.0)


def _sq_norms(x: torch.Tensor) -> torch.Tensor:
    return (x * x).sum(1)


def _kth_nn_radius(x: torch.Tensor, k: int, chunk: int = 2048) -> torch.Tensor:
    """Distance from each row of x to its k-th nearest other row.

    Squared distances |a|^2 - 2 a.b + |b|^2 come from one matrix product per chunk; only the
    k+1 smallest per row are kept (+1: the row itself, at distance ~0) before the square root."""
    x2 = _sq_norms(x)
    out = []
    for i in range(0, len(x), chunk):
        d2 = torch.addmm(x2[None, :], x[i:i + chunk], x.T, alpha=-2.0).add_(x2[i:i + chunk, None])  # (chunk, N)
        out.append(d2.topk(k + 1, dim=1, largest=False).values[:, k])
    return torch.cat(out).clamp_min(0).sqrt()


def _inside(query: torch.Tensor, ref: torch.Tensor, radius: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
    """For each query row: does it fall inside any ball (ref_j, radius_j)?

    |q - r_j|^2 <= radius_j^2  <=>  |r_j|^2 - radius_j^2 - 2 q.r_j <= -|q|^2, so one matrix
    product and a row minimum per chunk decide it, with no distance matrix or square roots."""
    bias = _sq_norms(ref) - radius * radius  # (M,)
    out = []
    for i in range(0, len(query), chunk):
        qc = query[i:i + chunk]
        out.append(torch.addmm(bias[None, :], qc, ref.T, alpha=-2.0).min(1).values <= -_sq_norms(qc))
    return torch.cat(out)


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Precision: share of fakes inside the real manifold; recall: share of reals inside the fake one."""
    r = torch.from_numpy(np.ascontiguousarray(real, dtype=np.float32))
    f = torch.from_numpy(np.ascontiguousarray(fake, dtype=np.float32))
    precision = float(_inside(f, r, _kth_nn_radius(r, k)).float().mean())
    recall = float(_inside(r, f, _kth_nn_radius(f, k)).float().mean())
    return precision, recall


def kernel_distance(a: np.ndarray, b: np.ndarray, subsets: int = 50, subset_size: int = 1000,
                    seed: int = 0) -> tuple[float, float]:
    """KID in these features: the unbiased MMD^2 between feature sets (N, D) and (M, D) with the
    kernel k(x, y) = (x.y / D + 1)^3, averaged over `subsets` random subsets of
    min(N, M, subset_size) rows each; returns (mean, standard deviation over the subsets).
    Unlike FD it is unbiased, so it can be compared across sample counts; 0 means no difference."""
    m = min(len(a), len(b), subset_size)
    if m < 2:
        return float("nan"), float("nan")
    rng = np.random.RandomState(seed)
    d = a.shape[1]
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    vals = []
    for _ in range(subsets):
        x = a64[rng.choice(len(a), m, replace=False)]
        y = b64[rng.choice(len(b), m, replace=False)]
        kxx, kyy, kxy = (x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3
        off = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        vals.append(off - 2.0 * kxy.mean())
    return float(np.mean(vals)), float(np.std(vals))


def nearest_distances(query: np.ndarray, ref: np.ndarray, chunk: int = 1024,
                      skip: np.ndarray | None = None) -> np.ndarray:
    """RMS pixel distance (images scaled to [0, 1]) from each query image to its nearest ref image.

    Uses |q|^2 - 2 q.r + |r|^2 with one matrix product per chunk and takes the minimum before
    the square root, so the full distance matrix is never materialised as distances.
    `skip` (Q,) names for each query row one ref row to leave out (the query itself, when the
    query images are taken from ref: a leave-one-out distance).
    """
    q = torch.from_numpy(np.ascontiguousarray(query)).flatten(1).float() / 255.0
    r = torch.from_numpy(np.ascontiguousarray(ref)).flatten(1).float() / 255.0
    r2 = (r * r).sum(1)  # (M,)
    out = []
    for i in range(0, len(q), chunk):
        qc = q[i:i + chunk]
        d2 = torch.addmm(r2[None, :], qc, r.T, alpha=-2.0)  # |r|^2 - 2 q.r, (chunk, M)
        if skip is not None:
            d2[torch.arange(len(qc)), torch.from_numpy(np.asarray(skip[i:i + chunk], np.int64))] = float("inf")
        out.append((d2.min(1).values + (qc * qc).sum(1)).clamp_min(0).sqrt())
    return (torch.cat(out) / np.sqrt(q.shape[1])).numpy()


def even_subset(n: int, m: int) -> np.ndarray:
    """m indices spread evenly over range(n) (all of them when m >= n): a subset of samples in
    class order that keeps every class."""
    if m >= n:
        return np.arange(n)
    return (np.arange(m) * n // m).astype(np.int64)


def class_mix_fd(feats_a: np.ndarray, feats_b: np.ndarray, labels_b: np.ndarray | None,
                 histogram: np.ndarray) -> float | None:
    """FD of real features b, reweighted so their classes come in the proportions `histogram`
    gives, against real features a: what samples with perfect images but this class mix would score.

    None without labels, or when the histogram puts samples in a class b lacks."""
    if labels_b is None:
        return None
    real = np.bincount(labels_b, minlength=len(histogram)).astype(np.float64)
    if np.any((histogram > 0) & (real == 0)):
        return None
    weights = np.where(real > 0, histogram / np.maximum(real, 1), 0.0)[labels_b]
    return frechet_distance(feats_b, feats_a, weights_a=weights)


def class_consistency(preds: np.ndarray, target: np.ndarray, labels: np.ndarray,
                      names: list[str]) -> tuple[float, dict[str, float]]:
    """Share of samples judged as the class they were asked for: overall and per requested class
    (`labels` index `names`; `target` is each sample's requested class in the judge's numbering)."""
    hit = preds == target
    return float(hit.mean()), {name: float(hit[labels == k].mean()) for k, name in enumerate(names)}


def memorisation_figures(samples_nn: np.ndarray, heldout_nn: np.ndarray) -> dict[str, float | int]:
    """Samples' nearest-training distances against held-out real images' (`nearest_distances`):
    a generator that replays its training set sits far below the held-out figures."""
    return {"samples_nn_mean": float(samples_nn.mean()), "samples_nn_median": float(np.median(samples_nn)),
            "heldout_nn_mean": float(heldout_nn.mean()), "heldout_nn_median": float(np.median(heldout_nn)),
            "ratio": float(np.median(samples_nn) / max(np.median(heldout_nn), 1e-12)),
            # share of samples closer to a training image than 99% of held-out real images are
            "near_copies": float((samples_nn < np.percentile(heldout_nn, 1)).mean()),
            "samples": int(len(samples_nn)), "heldout": int(len(heldout_nn))}
