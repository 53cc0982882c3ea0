"""Presets as the Train form sees them (gan_core.presets through ui.train_form), and ui/display.py:
pixel-exact enlargement for display, small formatters."""

from __future__ import annotations

import numpy as np
import pytest

from gan_core import presets
from gan_core.config import build_run_config
from gan_core.errors import ConfigError
from ui import train_form
from ui.display import ago, fmt, for_display


def test_every_preset_through_the_form_makes_its_config() -> None:
    for name, preset in presets.PRESETS.items():
        values = train_form.from_widgets(train_form.to_widgets(presets.apply(name, {})))
        cfg = train_form.build(values, "mnist", judged=True)
        assert cfg == build_run_config({**train_form.APP_DEFAULTS, **preset.values, "data.source": "mnist"}), name


def test_the_form_maps_its_two_special_widgets() -> None:
    widgets = train_form.to_widgets({"train.diffaug": "translation,color", "train.aux_on_fake": False,
                                     "train.lr_g": 1e-3, "data.source": "mnist"})
    assert widgets == {"t_diffaug_ops": ["translation", "color"], "t_aux_real_only": True, "t_lr_g": 1e-3}
    values = train_form.from_widgets(widgets)
    assert (values["train.diffaug"], values["train.aux_on_fake"], values["train.lr_g"]) == ("translation,color",
                                                                                           False, 1e-3)
    assert values["train.steps"] == 10_000 and "data.source" not in values  # defaults fill the rest


def test_disabled_widgets_do_not_apply_and_epochs_become_steps() -> None:
    values = train_form.from_widgets({"t_arch": "dcgan", "t_aux_weight": 3.0, "t_aux_real_only": True,
                                      "t_loss": "wgan-gp", "t_r1_gamma": 0.5, "t_eval_every": 500})
    cfg = train_form.build(values, "/uploads/cats", judged=False)
    assert (cfg.train.aux_weight, cfg.train.aux_on_fake, cfg.train.r1_gamma, cfg.train.eval_every) == (1.0, True,
                                                                                                      0.0, 0)
    acgan = train_form.build(dict(values, **{"model.arch": "acgan", "train.loss": "bce"}), "mnist", judged=True)
    assert (acgan.train.aux_weight, acgan.train.aux_on_fake, acgan.train.r1_gamma, acgan.train.eval_every) == (
        3.0, False, 0.5, 500)
    r3gan_only = dict(values, **{"model.arch": "acgan", "train.loss": "bce", "train.aux_in_g": False,
                                 "model.d_mbstd": 4, "model.min_width": 32, "model.g_upsample": "conv"})
    other = train_form.build(r3gan_only, "mnist", judged=True)  # R3GAN's options do not apply (ACGAN's G needs the term)
    assert (other.train.aux_in_g, other.model.d_mbstd, other.model.min_width, other.model.g_upsample) == (
        True, 0, 16, "bilinear")
    r3gan = train_form.build(dict(r3gan_only, **{"model.arch": "r3gan"}), "mnist", judged=True)
    assert (r3gan.train.aux_in_g, r3gan.model.d_mbstd, r3gan.model.min_width, r3gan.model.g_upsample) == (
        False, 4, 32, "conv")
    by_epochs = train_form.build(values, "mnist", judged=True, epochs=2.0, num_images=6400)
    assert by_epochs.train.steps == 200  # 100 batches of 64 per epoch
    with pytest.raises(ConfigError) as err:
        train_form.build(dict(values, **{"train.minutes": -1.0}), "mnist", judged=True)
    assert err.value.field == "train.minutes"


def test_for_display_enlarges_by_whole_factors_without_blurring() -> None:
    img = np.arange(2 * 3 * 1, dtype=np.uint8).reshape(2, 3, 1)
    big = for_display(img, min_width=10)
    assert big.shape == (8, 12) and big[0, 0] == 0 and big[7, 11] == 5  # factor 4, grey squeezed
    assert np.array_equal(big[::4, ::4], img[..., 0])
    rgb = np.zeros((64, 600, 3), np.uint8)
    assert for_display(rgb, min_width=320).shape == (64, 600, 3)  # already wide enough
    assert for_display(np.zeros((1, 1, 3), np.uint8), min_width=1000, max_factor=8).shape == (8, 8, 3)


def test_small_formatters() -> None:
    assert fmt(None) == "–" and fmt(0.12345) == "0.123" and fmt(1234.5) == "1,234" and fmt("x") == "x"
    assert ago(100.0, now=130.0) == "30 s ago" and ago(0.0, now=7200.0) == "2 h ago"


def test_the_app_starts_runs_with_the_guard_on_and_a_preset_keeps_the_users_choice() -> None:
    assert train_form.from_widgets({})["train.guard"] is True  # the CLI's default is off
    assert presets.apply("Generic", {"train.guard": False})["train.guard"] is False
