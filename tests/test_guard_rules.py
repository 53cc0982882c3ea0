"""The guard's detection rules on constructed metric streams (true positives), and on the metrics of
real runs that were not failing (no false alarms), in tests/guard_streams/ (metric keys only):
- acgan_mnist_bs32_log10.jsonl: the first 200 steps of `python -m gan_core.train --dataset mnist
  --model acgan --image-size 32 --steps 400 --batch-size 32 --log-every 10`;
- dcgan_mnist_preset_bs8_log5.jsonl and acgan_mnist_preset_bs8_log5.jsonl: the MNIST preset runs
  of tests/test_app_train_form.py (batch 8, a log every 5 steps, a sample grid every 25); the DCGAN
  one goes down to D(G(z)) = 0.032 at step 240 while D learns faster than G early on, which is
  why the D-overpowering floor is 0.02.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from gan_core import guard_rules
from gan_core.guard_rules import Rules

STREAMS = Path(__file__).parent / "guard_streams"


def rows(n: int, **series) -> list[dict]:
    """n logs every 50 steps; each keyword is a value or a function of the log index."""
    out = []
    for i in range(n):
        r = {"step": 50 * (i + 1), "loss_d": 1.2, "loss_g": 2.0, "d_real": 0.7, "d_fake": 0.3}
        for k, v in series.items():
            r[k] = v(i) if callable(v) else v
        out.append(r)
    return out


def wiggle(base: float, amp: float = 0.1):
    return lambda i: base + amp * math.sin(1.7 * i)


def read_stream(p: Path) -> list[dict]:
    return [json.loads(ln) for ln in p.read_text().splitlines() if ln.strip()]


def healthy_streams() -> list[tuple[str, list[dict]]]:
    """(the loss its D outputs are read with, rows) of each real healthy run in tests/guard_streams:
    R3GAN's (file names r3gan_*) are relativistic logits; the others' are probabilities (bce)."""
    out = [("rpgan" if p.name.startswith("r3gan_") else "bce", read_stream(p)) for p in sorted(STREAMS.glob("*.jsonl"))]
    assert out, "the real healthy streams are missing"
    return out


# -- non-finite ---------------------------------------------------------------------------------
def test_a_nan_loss_or_nan_weights_fire_at_once() -> None:
    r = rows(5, loss_g=lambda i: float("nan") if i == 4 else 2.0)
    f = guard_rules.nonfinite(r)
    assert f is not None and f.kind == "nonfinite" and f.step == 250 and f.since_step == 250
    assert "loss_g" in f.rule
    r = rows(3, weights_finite=lambda i: 0 if i == 2 else 1)
    assert guard_rules.nonfinite(r).rule == "weights not finite"
    assert guard_rules.nonfinite(rows(5, loss_d=float("inf"))) is not None


def test_finite_rows_are_not_nonfinite() -> None:
    assert guard_rules.nonfinite(rows(5)) is None and guard_rules.nonfinite([]) is None


# -- divergence ---------------------------------------------------------------------------------
def test_a_loss_that_leaves_its_window_for_n_logs_is_divergence() -> None:
    r = rows(14, loss_g=lambda i: 2.0 + 0.05 * math.sin(i) if i < 11 else 40.0 * (i - 9))
    f = guard_rules.divergence(r)
    assert f is not None and f.kind == "divergence" and f.evidence["key"] == "loss_g"
    assert f.since_step == r[11]["step"] and f.step == r[-1]["step"]
    assert all(d > Rules().k_dev for d in f.evidence["deviations"])


def test_a_spike_shorter_than_n_logs_or_a_slow_drift_is_not_divergence() -> None:
    spike = rows(14, loss_g=lambda i: 50.0 if i == 12 else 2.0)
    assert guard_rules.divergence(spike) is None
    drift = rows(40, loss_g=lambda i: 2.0 + 0.05 * i)  # G's loss creeping up as D learns
    assert all(guard_rules.divergence(drift[:n]) is None for n in range(1, 41))


def test_a_flat_window_does_not_make_noise_a_divergence() -> None:
    """MAD 0 (a flat window) is floored at min_rel_dev of the median."""
    r = rows(14, loss_d=lambda i: 1.0 if i < 11 else 1.5)
    assert guard_rules.divergence(r) is None
    r = rows(14, loss_d=lambda i: 1.0 if i < 11 else 2.0)  # 10 floored deviations: diverged
    assert guard_rules.divergence(r) is not None


# -- D overpowering -----------------------------------------------------------------------------
def test_d_fake_near_zero_for_n_logs_is_d_overpowering() -> None:
    r = rows(8, d_fake=lambda i: 0.3 if i < 5 else 0.01)
    f = guard_rules.d_overpowering(r)
    assert f is not None and f.since_step == 300 and f.evidence["d_fake"] == [0.01] * 3
    assert guard_rules.d_overpowering(r[:7]) is None  # two logs are not enough


def test_d_overpowering_needs_probabilities() -> None:
    r = rows(8, d_fake=-3.0)  # hinge/wgan raw scores are not probabilities
    assert guard_rules.d_overpowering(r, loss="hinge") is None and guard_rules.d_overpowering(r, loss="bce") is not None


# -- collapse -----------------------------------------------------------------------------------
def test_diversity_dropping_below_the_floor_is_collapse() -> None:
    r = rows(10, diversity=lambda i: 0.9 if i < 6 else 0.05)
    f = guard_rules.collapse(r)
    assert f is not None and f.kind == "collapse" and f.evidence["peak"] == 0.9


def test_a_fresh_generator_with_low_diversity_is_not_collapse() -> None:
    r = rows(10, diversity=lambda i: 0.05 + 0.01 * i)  # never reached diversity_seen
    assert guard_rules.collapse(r) is None


def test_nearly_identical_samples_are_collapse_even_if_never_diverse() -> None:
    """The acceptance run (lr 0.5) drew one image for every seed: diversity 0.0 from the start."""
    f = guard_rules.collapse(rows(6, diversity=lambda i: 0.3 if i < 3 else 0.0))
    assert f is not None and "after reaching 0.30" in f.rule  # the first form names the peak
    f = guard_rules.collapse(rows(6, diversity=lambda i: 0.1 if i < 3 else 0.004))
    assert f is not None and "nearly identical" in f.rule and f.since_step == 200
    assert guard_rules.collapse(rows(6, diversity=lambda i: 0.1 if i < 4 else 0.004)) is None  # two logs only
    assert not guard_rules.clean(rows(2, diversity=0.004))


def test_collapse_ignores_logs_without_a_diversity() -> None:
    r = rows(10, diversity=lambda i: 0.9 if i < 4 else 0.05)
    for x in r[5::2]:
        x.pop("diversity")
    assert guard_rules.collapse(r) is not None  # 3 measured logs below the floor, unmeasured ones skipped


def test_one_picture_per_class_is_collapse_though_the_classes_differ() -> None:
    """A conditional model that ignores z keeps a high diversity over all samples (its classes
    differ) while its diversity within each class stays low: collapse, even from its first logs."""
    r = rows(10, diversity=0.8, class_diversity=0.25)
    f = guard_rules.collapse(r)
    assert f is not None and "within each class" in f.rule and f.evidence["class_diversity"] == [0.25] * 3
    assert f.since_step == 50  # no "after reaching": it never had z-driven variety to lose
    assert guard_rules.collapse(rows(10, diversity=0.8, class_diversity=0.55)) is None
    assert guard_rules.collapse(rows(10, diversity=0.8, class_diversity=lambda i: 0.25 if i in (3, 7) else 0.6)) is None
    assert not guard_rules.clean(r)  # the ring keeps no checkpoint from such a log


def test_class_diversity_of_near_identical_noise_is_not_read() -> None:
    """A fresh generator's samples are all alike: their within-class share means nothing, and the
    rule skips those logs (the overall rules handle a generator that stays that way)."""
    fresh = rows(6, diversity=0.1, class_diversity=0.1)
    assert guard_rules.class_collapse(fresh) is None and guard_rules.clean(fresh)
    later = fresh + rows(2, diversity=0.8, class_diversity=0.2)
    assert guard_rules.class_collapse(later) is None  # two counted logs: not yet n_logs
    assert guard_rules.class_collapse(later + rows(1, diversity=0.8, class_diversity=0.2)) is not None


# -- memorisation -------------------------------------------------------------------------------
def test_samples_closer_to_training_images_than_held_out_ones_is_memorisation() -> None:
    r = rows(8, nn_real=lambda i: 0.3 if i < 4 else 0.05)
    f = guard_rules.memorisation(r, heldout=0.2)
    assert f is not None and f.evidence["heldout"] == 0.2
    assert guard_rules.memorisation(r, heldout=None) is None
    assert guard_rules.memorisation(rows(8, nn_real=0.05), heldout=0.2) is None  # never above: not "falling"
    assert guard_rules.memorisation(rows(8, nn_real=lambda i: 0.3 if i < 4 else 0.15), heldout=0.2) is None


def test_held_out_distance_is_each_images_nearest_other_image() -> None:
    import torch

    probe = torch.tensor([[0.0, 0.0], [0.0, 1.0], [3.0, 1.0]])
    # nearest others: 1, 1, 3 -> mean 5/3, over sqrt(2)
    assert guard_rules.held_out_distance(probe) == pytest.approx((5 / 3) / math.sqrt(2))


# -- the order, and the healthy streams -----------------------------------------------------------
def test_detect_names_the_first_rule_that_fires() -> None:
    r = rows(8, d_fake=0.01, loss_d=lambda i: float("nan") if i == 7 else 1.0)
    assert guard_rules.detect(r).kind == "nonfinite"
    assert guard_rules.detect(rows(8, d_fake=0.01)).kind == "d_overpowering"
    assert guard_rules.detect(rows(20, loss_g=wiggle(2.0), d_fake=wiggle(0.3, 0.05), diversity=wiggle(0.8))) is None


@pytest.mark.parametrize("other", ["hinge", None])
def test_no_rule_fires_anywhere_on_real_healthy_runs(other: str | None) -> None:
    """Every prefix of each healthy stream, as the guard sees it log by log (with its own loss, and
    its D outputs read as hinge logits too)."""
    for own, stream in healthy_streams():
        heldout = 0.1  # below the real runs' nn_real throughout, as a held-out probe is
        for n in range(1, len(stream) + 1):
            assert guard_rules.detect(stream[:n], loss=other or own, heldout=heldout) is None, (n, stream[n - 1])


def test_real_healthy_runs_are_clean_after_their_first_logs() -> None:
    for loss, stream in healthy_streams():
        flags = [guard_rules.clean(stream[:n], loss=loss) for n in range(1, len(stream) + 1)]
        assert all(flags), [s["step"] for s, ok in zip(stream, flags) if not ok]


def test_a_real_run_that_draws_one_picture_per_class_is_caught_early() -> None:
    """Recorded: `--dataset mnist --preset auto --mode-seeking 0 --log-every 25 --sample-every 25
    --threads 1` (the automatic preset's R3GAN without its mode-seeking term). Its samples vary
    across classes (diversity 0.6-0.8) but within a class only 0.24-0.35 as much as real digits:
    the rule fires on its third log, the first from which a streak of n_logs can complete."""
    stream = read_stream(STREAMS / "failing" / "r3gan_mnist_auto_ms0_log25.jsonl")
    first = next(n for n in range(1, len(stream) + 1) if guard_rules.detect(stream[:n], loss="rpgan"))
    f = guard_rules.detect(stream[:first], loss="rpgan")
    assert (first, f.kind, f.since_step) == (3, "collapse", 25) and "within each class" in f.rule
    assert all(v < Rules().class_floor for v in f.evidence["class_diversity"])
    assert not any(guard_rules.clean(stream[:n], loss="rpgan") for n in range(1, len(stream) + 1))


def test_clean_rejects_a_row_where_any_rule_condition_holds() -> None:
    assert not guard_rules.clean(rows(3, d_fake=lambda i: 0.01 if i == 2 else 0.3))
    assert not guard_rules.clean(rows(3, loss_d=lambda i: float("nan") if i == 2 else 1.0))
    assert not guard_rules.clean(rows(12, loss_g=lambda i: 2.0 if i < 11 else 80.0))
    assert not guard_rules.clean(rows(4, diversity=lambda i: 0.8 if i < 3 else 0.05))
    assert guard_rules.clean(rows(4, diversity=0.05))  # never diverse yet: not collapse


def test_at_the_last_log_a_failing_condition_fires_at_once() -> None:
    r = rows(8, d_fake=lambda i: 0.3 if i < 7 else 0.01)
    assert guard_rules.detect(r) is None
    f = guard_rules.detect_at_end(r)
    assert f is not None and f.kind == "d_overpowering" and f.since_step == 400
    assert guard_rules.detect_at_end(rows(8)) is None
    for loss, stream in healthy_streams():  # a real run that is not failing may end at any of its logs
        assert all(guard_rules.detect_at_end(stream[:n], loss=loss, heldout=0.1) is None
                   for n in range(1, len(stream) + 1))
