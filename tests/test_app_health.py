"""ui/health.py: plain-language warnings from metrics rows."""

from __future__ import annotations

from ui.health import assess


def rows(n: int = 12, **over) -> list[dict]:
    """n healthy-looking rows every 100 steps; keyword lists/values override columns."""
    out = []
    for i in range(n):
        r = {"step": (i + 1) * 100, "loss_d": 1.2, "loss_g": 1.0, "d_real": 0.6, "d_fake": 0.4}
        for k, v in over.items():
            r[k] = v[i] if isinstance(v, list) else v
        out.append(r)
    return out


def titles(findings) -> list[str]:
    return [f.title for f in findings]


def test_healthy_training_reads_ok_and_a_new_one_is_warming_up() -> None:
    ok = assess(rows(diversity=[None] * 11 + [0.9]), conditional=False)
    assert [f.level for f in ok] == ["ok"]
    assert [f.level for f in assess(rows(2))] == ["info"]


def test_discriminator_overpowering_needs_saturated_outputs_and_a_rising_g_loss() -> None:
    climbing = [1.0 + 0.5 * i for i in range(12)]
    bad = assess(rows(d_real=0.99, d_fake=0.01, loss_g=climbing))
    assert bad[0].level == "warning" and "overpowering" in bad[0].title and "0.99" in bad[0].detail
    assert all("overpowering" not in t for t in titles(assess(rows(d_real=0.99, d_fake=0.01))))  # flat loss_g
    assert all("overpowering" not in t for t in titles(assess(rows(d_real=0.7, d_fake=0.01, loss_g=climbing))))
    # hinge/wgan outputs are raw scores, not probabilities: never judged against 0/1
    assert all("overpowering" not in t for t in titles(assess(rows(d_real=0.99, d_fake=0.01, loss_g=climbing),
                                                              loss="hinge")))


def test_collapse_warning_and_error_thresholds() -> None:
    div = [None] * 10
    warn = assess(rows(diversity=div + [0.9, 0.25]))
    assert warn[0].level == "warning" and warn[0].title == "Likely mode collapse" and "0.25" in warn[0].detail
    assert assess(rows(diversity=div + [0.9, 0.1]))[0].level == "error"
    assert "Likely mode collapse" not in titles(assess(rows(diversity=div + [0.2, 0.8])))  # recovered


def test_nan_losses_and_failed_runs_are_errors_with_the_reason() -> None:
    nan = assess(rows(loss_d=[1.0] * 6 + [float("nan")] * 6))
    assert nan[0].level == "error" and "NaN" in nan[0].title and "700" in nan[0].detail
    failed = assess(rows(3), state="failed", error="training diverged: loss_d became nan by step 300")
    assert failed[0].level == "error" and "diverged" in failed[0].detail


def test_memorisation_trend_needs_a_fast_fall_to_a_small_distance() -> None:
    nn = [None] * 8 + [0.2, 0.15, 0.08, 0.03]
    assert "very close to training images" in titles(assess(rows(nn_real=nn)))[0]
    assert not [t for t in titles(assess(rows(nn_real=[None] * 8 + [0.2, 0.19, 0.18, 0.17]))) if "close" in t]


def test_acgan_class_agreement_only_for_conditional_runs_after_warm_up() -> None:
    ca = [None] * 10 + [0.3, 0.2]
    assert "do not match their classes" in titles(assess(rows(class_agreement=ca), conditional=True))[0]
    assert not [t for t in titles(assess(rows(class_agreement=ca), conditional=False)) if "classes" in t]
    early = rows(class_agreement=ca)[:]
    for r in early:
        r["step"] //= 200  # steps 0..6: too early to judge
    assert not [t for t in titles(assess(early, conditional=True)) if "classes" in t]


def test_one_picture_per_class_is_an_error_for_conditional_runs_on_the_guards_rule() -> None:
    cd = [None] * 10 + [0.5, 0.25]
    found = assess(rows(diversity=0.8, class_diversity=cd), conditional=True)
    assert found[0].level == "error" and found[0].title == "About one picture per class"
    assert "0.25" in found[0].detail and "mode-seeking" in found[0].detail
    fine = assess(rows(diversity=0.8, class_diversity=[None] * 10 + [0.25, 0.6]), conditional=True)
    assert "About one picture per class" not in titles(fine)  # the last log reads healthy
    noise = assess(rows(diversity=0.1, class_diversity=0.1), conditional=True)  # a fresh generator
    assert "About one picture per class" not in titles(noise)
