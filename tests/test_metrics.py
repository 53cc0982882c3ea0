import numpy as np
import pytest

from gan_core.metrics import frechet_distance, nearest_distances, precision_recall


def blobs(n: int, d: int, center: float, scale: float = 1.0, seed: int = 0) -> np.ndarray:
    return np.random.RandomState(seed).randn(n, d) * scale + center


def test_identical_sets() -> None:
    a = blobs(1500, 16, 0.0)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert precision_recall(a, a, k=3) == (1.0, 1.0)


def test_frechet_distance_known_value() -> None:
    # two Gaussians with identity covariance, means 2 apart in every one of 8 dims: FD = 8 * 2^2
    a, b = blobs(20000, 8, 0.0, seed=1), blobs(20000, 8, 2.0, seed=2)
    assert frechet_distance(a, b) == pytest.approx(32.0, rel=0.03)
    # same mean, covariance scaled by 4 (std 2): FD = d * (1 + 4 - 2*2) = 8
    assert frechet_distance(a, blobs(20000, 8, 0.0, scale=2.0, seed=3)) == pytest.approx(8.0, rel=0.05)


def test_disjoint_blobs_have_low_precision_and_recall() -> None:
    p, r = precision_recall(blobs(1000, 8, 0.0), blobs(1000, 8, 20.0, seed=1))
    assert p < 0.01 and r < 0.01


def test_collapsed_generator_has_high_precision_low_recall() -> None:
    real = blobs(1000, 8, 0.0)
    collapsed = blobs(1000, 8, 0.0, scale=0.1, seed=1)  # all samples near the mode
    p, r = precision_recall(real, collapsed)
    assert p > 0.9 and r < 0.2


def test_precision_recall_match_the_definition() -> None:
    """Against a brute-force reading of Kynkaanniemi et al.: a sample counts when it lies within
    some real point's distance to that point's k-th nearest real neighbour (and vice versa)."""
    real, fake = blobs(300, 5, 0.0, seed=4), blobs(250, 5, 0.8, scale=0.8, seed=5)

    def share_inside(query: np.ndarray, ref: np.ndarray, k: int) -> float:
        d_ref = np.linalg.norm(ref[:, None] - ref[None], axis=2)
        radius = np.sort(d_ref, axis=1)[:, k]  # column 0 is the point itself
        d = np.linalg.norm(query[:, None] - ref[None], axis=2)
        return float((d <= radius[None]).any(1).mean())

    p, r = precision_recall(real, fake, k=3)
    assert 0.2 < p < 0.95 and 0.2 < r < 0.95  # a case where neither is trivially 0 or 1
    assert p == pytest.approx(share_inside(fake, real, 3), abs=1 / 250)
    assert r == pytest.approx(share_inside(real, fake, 3), abs=1 / 300)


def test_nearest_distances() -> None:
    ref = np.random.RandomState(0).randint(0, 256, (50, 4, 4, 1), dtype=np.uint8)
    d = nearest_distances(ref[:5], ref)
    assert np.allclose(d, 0.0, atol=1e-3)  # cdist uses the matmul expansion: tiny rounding
    shifted = np.clip(ref[:5].astype(int) + 51, 0, 255).astype(np.uint8)
    assert np.all(nearest_distances(shifted, ref) > 0)


def test_weighted_frechet_distance_changes_the_class_mix() -> None:
    # two classes 6 apart; a holds them 50/50, b 80/20
    rs = np.random.RandomState(0)
    labels_a = np.repeat([0, 1], 5000)
    a = rs.randn(10_000, 4) + 6.0 * labels_a[:, None]
    b = np.concatenate([rs.randn(8000, 4), rs.randn(2000, 4) + 6.0])
    assert frechet_distance(a, b) > 10  # the means alone differ by 1.8 per dim
    # weights 0.8/0.5 and 0.2/0.5 give a the 80/20 mix: the distance all but vanishes
    weights = np.where(labels_a == 0, 0.8 / 0.5, 0.2 / 0.5)
    assert frechet_distance(a, b, weights_a=weights) < 0.05
    assert frechet_distance(a, a, weights_a=np.ones(len(a))) == pytest.approx(0.0, abs=1e-6)


def test_class_consistency_overall_and_per_requested_class() -> None:
    from gan_core.metrics import class_consistency

    labels = np.array([0, 0, 1, 1])  # requested classes, in the generator's numbering
    target = np.array([5, 5, 7, 7])  # the same classes in the judge's numbering
    overall, per = class_consistency(np.array([5, 5, 7, 1]), target, labels, ["a", "b"])
    assert overall == 0.75 and per == {"a": 1.0, "b": 0.5}


def test_memorisation_figures_tell_replayed_samples_from_new_ones() -> None:
    from gan_core.metrics import memorisation_figures

    held = np.linspace(0.1, 0.2, 101)
    copies = memorisation_figures(np.full(50, 0.01), held)
    fresh = memorisation_figures(np.full(50, 0.15), held)
    assert copies["near_copies"] == 1.0 and copies["ratio"] < 0.1
    assert fresh["near_copies"] == 0.0 and fresh["ratio"] == pytest.approx(1.0)
    assert (fresh["samples"], fresh["heldout"]) == (50, 101) and fresh["heldout_nn_median"] == pytest.approx(0.15)
