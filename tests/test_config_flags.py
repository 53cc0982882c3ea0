"""RunConfig is the one description of a run: the trainer's flags are its fields, presets are
partial RunConfigs, and bad values name the field they concern."""

from __future__ import annotations

import argparse

import pytest

from gan_core import presets, train
from gan_core.config import (FORMAT_VERSION, RunConfig, TrainConfig, build_run_config, check_dataset, options,
                             steps_for_epochs)
from gan_core.errors import ConfigError

RUN_ONLY = {"--out", "--resume", "--dry-run", "--epochs", "--json", "--quiet", "--calibration-steps", "--calibration-seconds", "--preset",
            "--lr", "--help"}


def config_actions() -> dict[str, argparse.Action]:
    """The first flag of each option (a switch's older spelling may follow it)."""
    out: dict[str, argparse.Action] = {}
    for a in train.build_parser()._actions:
        if "." in a.dest:
            out.setdefault(a.dest, a)
    return out


def test_every_option_has_the_flag_named_after_its_field() -> None:
    actions = config_actions()
    for o in options():
        action = actions.get(o.key)
        assert action is not None, f"{o.key} has no flag"
        assert action.option_strings[0] == "--" + o.name.replace("_", "-"), (o.key, action.option_strings)
        assert o.help in action.help and list(action.choices or ()) == list(o.choices), o.key
    # and every flag is an option or one of the hand-written run flags
    flags = {s for a in train.build_parser()._actions for s in a.option_strings if s.startswith("--")}
    named = {s for a in train.build_parser()._actions if "." in a.dest for s in a.option_strings}
    assert flags - named <= RUN_ONLY | {"--no-" + o.flag[2:] for o in options() if o.type is bool}
    assert "--lr-decay-plateau" in train.build_parser().format_help()  # argparse %-formats every help: no stray %


def test_every_field_is_an_option_with_help_or_derived_from_the_data() -> None:
    import dataclasses

    from gan_core.config import SECTIONS

    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            assert f.metadata.get("help"), f"{section}.{f.name} needs option(...) or derived(...) with a help text"


def test_option_names_are_unique_and_the_data_derived_fields_are_not_options() -> None:
    names = [o.name for o in options()]
    assert len(names) == len(set(names))  # one flag (and one form key) per name
    keys = {o.key for o in options()}
    derived = {"model.channels", "model.num_classes", "model.class_names", "data.fingerprint", "data.num_images"}
    assert not keys & derived and {"data.channels", "train.minutes", "train.ema_start"} <= keys


def test_flags_build_the_same_config_as_the_options_they_name() -> None:
    values = {"data.source": "mnist", "model.arch": "acgan", "model.image_size": 64, "train.loss": "hinge",
              "train.steps": 1234, "train.lr_g": 1e-4, "train.lr_d": 4e-4, "train.beta1": 0.0,
              "train.diffaug": "translation,color", "data.hflip": True, "train.aux_on_fake": False,
              "train.r1_gamma": 0.5, "train.minutes": 2.5, "model.ndf": 24, "train.ema_start": 100}
    argv = []
    for o in options():
        if o.key in values:
            v = values[o.key]
            argv += [o.flag if v else "--no-" + o.flag[2:]] if o.type is bool else [o.flag, str(v)]
    cfg = train.config_from_args(train.parse_args([*argv, "--out", "x"]))
    assert cfg == build_run_config(values)
    assert cfg.get("train.aux_on_fake") is False and cfg.train.minutes == 2.5 and cfg.model.ndf == 24


def test_aliases_keep_the_older_spellings() -> None:
    old = train.parse_args(["--dataset", "mnist", "--model", "acgan", "--r1", "2", "--aux-real-only", "--out", "x"])
    new = train.parse_args(["--source", "mnist", "--arch", "acgan", "--r1-gamma", "2", "--no-aux-on-fake",
                            "--out", "x"])
    assert train.config_from_args(old) == train.config_from_args(new)
    assert train.config_from_args(old).train.aux_on_fake is False
    assert train.config_from_args(train.parse_args(["--dataset", "x", "--out", "x"])).train.aux_on_fake is True


def test_one_default_for_each_option() -> None:
    cfg = train.config_from_args(train.parse_args(["--dataset", "faces", "--out", "x"]))
    assert cfg.train == TrainConfig() and cfg.train.steps == TrainConfig().steps
    assert (cfg.model.image_size, cfg.model.d_norm) == (64, "batch")
    # the two defaults that follow other options, decided in one place
    mnist = build_run_config({"data.source": "mnist", "train.loss": "wgan-gp"})
    assert (mnist.model.image_size, mnist.model.d_norm, mnist.train.n_critic) == (32, "layer", 5)
    assert train.parse_args(["--out", "x", "--lr", "0.001", "--lr-d", "0.002", "--dataset", "x"]) \
        and train.given(train.parse_args(["--out", "x", "--lr", "0.001", "--lr-d", "0.002"])) == \
        {"train.lr_g": 0.001, "train.lr_d": 0.002}


def test_bad_values_name_their_field() -> None:
    cases = {"train.lr_g": 2.0, "train.minutes": -1.0, "model.image_size": 48, "train.diffaug": "blur",
             "train.ema": 1.0, "train.r1_gamma": -1.0, "train.eval_every": -5, "train.lr_decay": 1.5,
             "train.lr_final": 0.0}
    for key, value in cases.items():
        with pytest.raises(ConfigError) as err:
            build_run_config({"data.source": "x", key: value})
        assert err.value.field == key, (key, str(err.value))
    with pytest.raises(ConfigError) as err:
        build_run_config({"data.source": "x", "model.arch": "acgan", "train.aux_weight": 0.0})
    assert err.value.field == "train.aux_weight" and "class-loss weight" in str(err.value)
    with pytest.raises(ConfigError) as err:
        build_run_config({"data.source": "x", "model.arch": "acgan", "train.aux_in_g": False})
    assert err.value.field == "train.aux_in_g" and "only through the class loss" in str(err.value)
    assert build_run_config({"data.source": "x", "model.arch": "r3gan", "train.aux_in_g": False}).train.aux_in_g is False
    with pytest.raises(ConfigError) as err:
        build_run_config({"data.source": "x", "train.lr_g": "fast"})
    assert err.value.field == "train.lr_g" and "wrong type" in str(err.value)
    with pytest.raises(ConfigError) as err:
        build_run_config({"train.nope": 1})
    assert err.value.field == "train.nope"
    with pytest.raises(ConfigError) as err:
        RunConfig.from_dict({"model": {}, "data": {}, "train": {"steps": 0}, "version": FORMAT_VERSION})
    assert err.value.field == "train.steps"


def test_dataset_rules_live_in_one_function() -> None:
    check_dataset("acgan", 100, 2)
    check_dataset("dcgan", 100, 0)
    check_dataset("acgan", None, None)  # not known yet: nothing to say
    with pytest.raises(ConfigError) as err:
        check_dataset("acgan", 100, 1)
    assert err.value.field == "model.arch" and "at least 2 classes" in str(err.value)
    with pytest.raises(ConfigError) as err:
        check_dataset("dcgan", 0, 0)
    assert err.value.field == "data.source" and "no usable images" in str(err.value)
    assert steps_for_epochs(2.5, 1000, 64) == round(2.5 * 15) and steps_for_epochs(1, 10, 64) == 1


def test_presets_are_partial_configs_the_flags_override() -> None:
    for name, preset in presets.PRESETS.items():
        cfg = build_run_config(dict(preset.values, **{"data.source": "mnist"}))
        for key, value in preset.values.items():
            assert cfg.get(key) == value, (name, key)
    args = train.parse_args(["--dataset", "mnist", "--preset", "Tiny smoke test", "--steps", "30", "--out", "x"])
    cfg = train.config_from_args(args)
    assert (cfg.train.steps, cfg.model.ngf, cfg.train.batch_size) == (30, 8, 8)  # the flag wins, the rest is the preset
    with pytest.raises(ConfigError) as err:
        train.config_from_args(train.parse_args(["--dataset", "mnist", "--preset", "Huge", "--out", "x"]))
    assert "unknown preset 'Huge'" in str(err.value) and "Tiny smoke test" in str(err.value)


def test_preset_summaries_type_no_scores() -> None:
    import re

    for p in presets.PRESETS.values():
        assert not re.search(r"\bFD\s*\d|\d+(\.\d+)?\s*%", p.summary), p.name


def test_suggestions_follow_the_dataset_and_its_classes() -> None:
    assert presets.suggest("mnist") == "MNIST digits"
    assert presets.suggest("orl-faces") == "ORL faces (ACGAN)"
    # any other dataset: the automatic preset, computed from its facts (tests/test_presets_auto.py)
    for images, classes in ((300, 0), (50_000, 0), (300, 2)):
        assert presets.suggest("/uploads/cats", images, classes) == presets.AUTO
    labelled = presets.apply(presets.suggest("/uploads/labelled", 300, 2, 28), {},
                             facts=presets.DataFacts(300, 2, 28))
    assert (labelled["model.arch"], labelled["model.image_size"]) == ("r3gan", 32)
    assert presets.typical_side({"28x28": 90, "64x48": 10}) == 28 and presets.typical_side({}) == 0


def test_apply_resets_the_recipe_and_keeps_the_machine_options() -> None:
    current = {"train.seed": 7, "model.arch": "dcgan", "train.label_smoothing": 0.1, "train.device": "cpu",
               "train.minutes": 5.0}
    values = presets.apply("MNIST digits", current, has_classes=False)
    assert (values["train.seed"], values["train.device"], values["train.minutes"]) == (7, "cpu", 5.0)
    assert values["model.arch"] == "dcgan" and values["model.image_size"] == 32  # no classes: DCGAN
    assert values["train.label_smoothing"] == 0.0  # not the MNIST preset's: back to the default
    assert presets.apply("MNIST digits", {}, has_classes=True)["model.arch"] == "acgan"
    assert presets.apply("MNIST digits", {}, has_classes=None)["model.arch"] == "acgan"  # unknown: keep


def test_a_run_config_from_a_newer_gan_studio_is_refused_and_an_older_one_migrates(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """One version rule (gan_core.formats) for run configs, checkpoints and recipes."""
    from gan_core import config as cfgmod
    from gan_core.config import RunConfig
    from gan_core.errors import ConfigError

    d = build_run_config({"data.source": "mnist"}).to_dict()
    now = cfgmod.FORMAT_VERSION
    with pytest.raises(ConfigError, match=f"newer GAN Studio: format {now + 1}, this version reads up to {now}"):
        RunConfig.from_dict(dict(d, version=now + 1))
    with pytest.raises(ConfigError, match="not a positive whole number"):
        RunConfig.from_dict(dict(d, version="1"))
    # a next format whose migration renames a field: a file of today's version still loads
    old = dict(d, version=now)
    old["train"] = {("learning_rate_g" if k == "lr_g" else k): v for k, v in d["train"].items()}
    monkeypatch.setattr(cfgmod, "FORMAT_VERSION", now + 1)
    monkeypatch.setitem(cfgmod.MIGRATIONS, now, lambda raw: dict(
        raw, train={("lr_g" if k == "learning_rate_g" else k): v for k, v in raw["train"].items()}))
    assert RunConfig.from_dict(old).train.lr_g == d["train"]["lr_g"]


def _written_before(run: dict, version: int, field: str) -> dict:
    """A run config dict as format `version` wrote it: without the model field that came after it."""
    return dict(run, version=version, model={k: v for k, v in run["model"].items() if k != field})


@pytest.mark.parametrize("field, since, kept, default, other, choices", [
    ("g_upsample", 2, "bilinear", "bilinear", "conv", "bilinear, conv"),  # before format 2: 1x1 conv + bilinear
    ("g_output", 3, "linear", "tanh", "linear", "tanh, linear"),  # before format 3: a linear image
])
def test_an_r3gan_run_written_before_a_generator_field_keeps_the_generator_it_was_trained_with(
        field: str, since: int, kept: str, default: str, other: str, choices: str) -> None:
    """model.<field> arrived with format `since`: an r3gan run written before it keeps its generator
    (and so its weights' shapes) whatever the default; the other archs take the default, the only
    value they accept."""
    from gan_core.config import FORMAT_VERSION, RunConfig

    assert FORMAT_VERSION >= since
    new = build_run_config({"data.source": "mnist", "model.arch": "r3gan"}).to_dict()
    assert new["model"][field] == default and new["version"] == FORMAT_VERSION
    assert getattr(RunConfig.from_dict(_written_before(new, since - 1, field)).model, field) == kept
    assert getattr(RunConfig.from_dict(new).model, field) == default  # (the current format says which it is)
    chosen = build_run_config({"data.source": "mnist", "model.arch": "r3gan", f"model.{field}": other}).to_dict()
    assert getattr(RunConfig.from_dict(chosen).model, field) == other
    acgan = build_run_config({"data.source": "mnist", "model.arch": "acgan"}).to_dict()
    assert getattr(RunConfig.from_dict(_written_before(acgan, since - 1, field)).model, field) == default
    with pytest.raises(ConfigError, match=f"model.{field} is an r3gan option"):
        build_run_config({"data.source": "mnist", "model.arch": "acgan", f"model.{field}": other})
    with pytest.raises(ConfigError, match=f"model.{field} must be one of {choices}"):
        build_run_config({"data.source": "mnist", "model.arch": "r3gan", f"model.{field}": "sigmoid"})
