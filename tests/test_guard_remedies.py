"""The guard's remedies (gan_core.guard_remedies): each failure's named remedy, the escalation when
one did not hold, and the one-step reset of a learning rate far beyond the architecture's range."""

from __future__ import annotations

import pytest

from gan_core import guard_remedies, guard_rules
from gan_core.config import TrainConfig


def finding(kind: str) -> guard_rules.Finding:
    return guard_rules.Finding(kind, 300, 200, "test")


def test_each_failure_has_its_named_remedy() -> None:
    tc = TrainConfig(lr_g=2e-4, lr_d=4e-4)
    r = guard_remedies.remedy(finding("nonfinite"), tc, "bf16", 0)
    assert r.changes == {"train.precision": "fp32"} and "fp32" in r.name
    r = guard_remedies.remedy(finding("nonfinite"), tc, "fp32", 0)
    assert r.changes == {"train.lr_g": pytest.approx(2e-5), "train.lr_d": pytest.approx(4e-5)}
    r = guard_remedies.remedy(finding("divergence"), tc, "fp32", 0)
    assert r.changes == {"train.lr_g": pytest.approx(1e-4), "train.lr_d": pytest.approx(2e-4)}
    r = guard_remedies.remedy(finding("d_overpowering"), tc, "fp32", 0)
    assert r.changes == {"train.lr_d": pytest.approx(2e-4), "train.r1_gamma": 1.0}
    r = guard_remedies.remedy(finding("collapse"), tc, "fp32", 0)
    assert r.changes == {"train.diffaug": "translation"}
    full = TrainConfig(diffaug="translation,cutout,color", r1_gamma=2.0)
    assert guard_remedies.remedy(finding("collapse"), full, "fp32", 0).changes == {"train.r1_gamma": 4.0}
    assert guard_remedies.remedy(finding("memorisation"), tc, "fp32", 0).stop


def test_collapse_within_the_classes_turns_the_mode_seeking_term_on() -> None:
    within = guard_rules.Finding("collapse", 300, 200, "test", {"class_diversity": [0.2, 0.2, 0.2]})
    r = guard_remedies.remedy(within, TrainConfig(), "fp32", 0)
    assert r.changes == {"train.mode_seeking": guard_rules.Rules().ms_on} and "mode-seeking" in r.name
    assert guard_remedies.remedy(within, TrainConfig(mode_seeking=0.1), "fp32", 0).changes == {
        "train.mode_seeking": pytest.approx(0.2)}


def test_a_remedy_that_did_not_hold_is_escalated() -> None:
    tc = TrainConfig(lr_g=1e-3, lr_d=1e-3)
    r = guard_remedies.remedy(finding("d_overpowering"), tc, "fp32", 1, arch="dcgan")
    assert r.changes["train.lr_d"] == pytest.approx(5e-5) and r.changes["train.lr_g"] == pytest.approx(1e-4)
    assert "escalated" in r.name


def test_a_learning_rate_far_beyond_the_stable_range_is_reset_in_one_step() -> None:
    """--lr 0.5 (the issue's acceptance run): whatever failed, the remedy is the stable rate at
    once, and says why; a rate within 10x of it is left to the failure's own remedy."""
    tc = TrainConfig(lr_g=0.5, lr_d=0.5)
    for kind in ("nonfinite", "divergence", "d_overpowering", "collapse"):
        for attempt in (0, 1):
            r = guard_remedies.remedy(finding(kind), tc, "fp32", attempt, arch="acgan")
            assert r.changes == {"train.lr_g": 2e-4, "train.lr_d": 2e-4}
            assert "reset to 0.0002 in one step" in r.name and "lr_g 0.5" in r.name and "acgan" in r.name
    only_g = TrainConfig(lr_g=0.01, lr_d=2e-4)
    assert guard_remedies.far_beyond(only_g, "dcgan") == {"lr_g": 0.01}
    assert guard_remedies.remedy(finding("collapse"), only_g, "fp32", 0, arch="dcgan").changes == {"train.lr_g": 2e-4}
    near = TrainConfig(lr_g=2e-3, lr_d=2e-3)  # 10x: high, not far beyond
    assert guard_remedies.far_beyond(near, "r3gan") == {}
    assert guard_remedies.remedy(finding("divergence"), near, "fp32", 0, arch="r3gan").changes == {
        "train.lr_g": pytest.approx(1e-3), "train.lr_d": pytest.approx(1e-3)}
    assert guard_remedies.remedy(finding("memorisation"), tc, "fp32", 0, arch="acgan").stop
