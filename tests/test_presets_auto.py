"""The automatic preset (gan_core.presets.auto): one rule from the data for the CLI's `--preset auto`
and the Train page's suggestion, with the modern recipe's numbers from `presets.RECIPE`."""

from __future__ import annotations

from pathlib import Path

import pytest

from gan_core import presets, train
from gan_core.config import build_run_config, fit_to_data
from gan_core.data.loader import survey
from gan_core.errors import ConfigError
from gan_core.presets import AUTO, RECIPE, DataFacts, auto

from conftest import write_image_folder


def _cfg(values: dict, classes: list[str], images: int = 500):
    cfg = build_run_config({**values, "data.source": "x"})
    return fit_to_data(cfg, 1, classes, "fp", images)


@pytest.mark.parametrize("side, images, size", [
    (28, 10_000, 32), (32, 500, 32), (40, 500, 32), (41, 500, 64), (64, 500, 64), (96, 500, 64), (112, 320, 64),
    (256, 500, 64), (256, 50_000, 128), (150, 50_000, 64), (0, 1000, 64)])
def test_the_image_size_follows_the_pictures(side: int, images: int, size: int) -> None:
    assert presets.auto_size(side, images) == size
    assert auto(DataFacts(images, 0, side)).values["model.image_size"] == size


def test_a_labelled_set_gets_a_class_conditional_model() -> None:
    labelled = auto(DataFacts(500, 3, 28)).values
    cfg = _cfg(labelled, ["a", "b", "c"])
    assert cfg.model.arch == "r3gan" and cfg.model.num_classes == 3 and cfg.model.class_names == ["a", "b", "c"]
    unlabelled = _cfg(auto(DataFacts(500, 0, 28)).values, [])
    assert unlabelled.model.arch == "r3gan" and unlabelled.model.num_classes == 0


def test_the_recipe_numbers_come_from_the_one_recipe() -> None:
    for size, side in ((32, 28), (64, 64)):
        v = auto(DataFacts(5000, 0, side)).values
        assert (v["train.loss"], v["train.lr_g"], v["train.lr_d"], v["train.beta1"], v["train.beta2"]) == (
            "rpgan", RECIPE.lr[size], RECIPE.lr[size], RECIPE.beta1, RECIPE.beta2)
        assert v["train.r1_gamma"] == v["train.r2_gamma"] == RECIPE.gamma[size]
        assert v["model.ngf"] == v["model.ndf"] == RECIPE.widths[size]
        assert v["train.ema_halflife_kimg"] == RECIPE.ema_halflife_kimg
        assert (v["train.lr_decay"], v["train.lr_final"], v["train.lr_decay_plateau"], v["train.lr_decay_last"]) == (
            RECIPE.lr_decay, RECIPE.lr_final, True, RECIPE.lr_decay_last[size])
        assert 0 < RECIPE.lr_decay_last[size] <= RECIPE.lr_decay  # a real floor under the plateau rule, within its window
        assert v["train.eval_decay"] == RECIPE.eval_decay > 0 and v["train.eval_every"] > 0  # the decay is judged
        assert "train.mode_seeking" not in v  # unlabelled: no class pairs to compare
        labelled = auto(DataFacts(5000, 10, side)).values
        assert labelled["train.mode_seeking"] == RECIPE.mode_seeking > 0
        assert labelled["train.aux_weight"] == RECIPE.aux_weight[size] > 0
        assert "train.aux_weight" not in v  # unlabelled: no class loss


def test_batch_augmentation_and_schedule_follow_the_image_count() -> None:
    def values(n: int) -> dict:
        return auto(DataFacts(n, 0, 64)).values

    assert values(RECIPE.small_set - 1)["train.batch_size"] == RECIPE.batch_small
    assert values(RECIPE.small_set)["train.batch_size"] == RECIPE.batch
    assert values(12)["train.batch_size"] == 8  # never more than the images
    assert values(1)["train.batch_size"] == 1
    assert values(RECIPE.ada_below - 1)["train.ada_target"] == RECIPE.ada_target
    assert "train.ada_target" not in values(RECIPE.ada_below)  # large sets: no augmentation
    steps = [values(n)["train.steps"] * values(n)["train.batch_size"] for n in (100, 4000, 10_000, 30_000, 10**6)]
    assert steps == sorted(steps)  # more images, at least as many images shown
    assert steps[0] >= RECIPE.min_kimg * 1000 * 0.99 and steps[-1] <= RECIPE.max_kimg * 1000 * 1.01
    v = values(10_000)
    assert v["train.eval_every"] <= v["train.steps"] and v["train.sample_every"] <= v["train.ckpt_every"]


def test_every_auto_preset_makes_a_valid_config() -> None:
    for images in (1, 12, 300, 999, 1000, 4999, 5000, 60_000):
        for classes in (0, 2, 40):
            for side in (0, 16, 28, 64, 112, 512):
                values = auto(DataFacts(images, classes, side)).values
                cfg = build_run_config({**values, "data.source": "x"})
                assert cfg.train.batch_size <= max(1, images) and cfg.model.image_size in (32, 64, 128)
                assert "%" not in auto(DataFacts(images, classes, side)).summary


def test_auto_is_a_preset_name_for_the_cli_and_the_page() -> None:
    assert presets.get("auto").name == presets.get("AUTO").name == AUTO and presets.is_auto("auto")
    assert not presets.is_auto("MNIST digits") and presets.get("mnist digits").name == "MNIST digits"
    assert presets.suggest("/uploads/x.zip", 300, 2, 28) == AUTO
    assert presets.suggest("mnist") == "MNIST digits" and presets.suggest("orl-faces") == "ORL faces (ACGAN)"
    with pytest.raises(ConfigError, match="did you mean 'MNIST digits'"):
        presets.get("mnist digit")


def test_the_cli_and_the_page_resolve_the_same_preset(tmp_path: Path) -> None:
    folder = write_image_folder(tmp_path / "set", {"cats": 12, "dogs": 9}, size=60)
    found = survey(str(folder))
    assert (found.images, found.class_counts, found.sizes) == (21, {"cats": 12, "dogs": 9}, {"64x60": 21})
    facts = DataFacts(found.images, len(found.class_counts), presets.typical_side(found.sizes))
    said: list[str] = []
    cli = train.config_from_args(train.parse_args(["--dataset", str(folder), "--preset", "auto", "--out", "x"]),
                                 said.append)
    page = build_run_config({**presets.apply(presets.suggest(str(folder), 21, 2, 64), {}, facts=facts),
                             "data.source": str(folder)})
    assert cli == page and cli.model.arch == "r3gan" and cli.model.image_size == 64 and cli.train.batch_size == 16
    assert said == [f"preset auto: {auto(facts).summary}"]
    said.clear()
    override = train.config_from_args(train.parse_args(["--dataset", str(folder), "--preset", "auto",
                                                        "--batch-size", "4", "--mode-seeking", "0.5", "--out", "x"]),
                                      said.append)
    assert override.train.batch_size == 4 and override.model.image_size == 64  # flags win over the preset
    # and say so
    assert said[-1] == f"flags over the preset: batch_size 16 -> 4, mode_seeking {RECIPE.mode_seeking:g} -> 0.5"


def test_survey_reads_the_builtin_sets_without_decoding() -> None:
    s = survey("mnist")
    assert (s.images, len(s.class_counts), s.sizes) == (60_000, 10, {"28x28": 60_000})
    assert auto(DataFacts(s.images, len(s.class_counts), presets.typical_side(s.sizes))).values["model.image_size"] == 32
