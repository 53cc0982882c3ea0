"""`python -m bench train --model r3gan`: the automatic preset's recipe, its step with and without the
lazy R1/R2 penalties, and the ACGAN step beside it. The real figures come from running it by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import write_image_folder

from bench import goals, peak
from bench.__main__ import build_parser, main
from bench.train import load_timed
from bench.train_r3gan import _step_at, recipe_trainer
from gan_core.config import TrainConfig
from gan_core.presets import RECIPE


def test_the_penalised_step_computes_r1_and_r2_and_the_plain_one_neither(tmp_path: Path) -> None:
    folder = write_image_folder(tmp_path / "set", {"a": 8, "b": 8}, size=32, mode="L")
    data, source, _ = load_timed(str(folder), 32)
    trainer = recipe_trainer(data, source, 32, 4, "cpu")
    tc = trainer.cfg.train
    assert (trainer.cfg.model.arch, tc.loss) == ("r3gan", "rpgan") and tc.r1_gamma > 0 and tc.r2_gamma > 0
    assert trainer.cfg.model.conditional and tc.ada_target > 0  # the recipe for 16 labelled images
    every = tc.r1_every
    penalised = _step_at(trainer, every, True)
    assert {"r1", "r2"} <= set(penalised) and trainer.step % every == 1  # counted after the step
    plain = _step_at(trainer, every, False)
    assert not {"r1", "r2"} & set(plain)


def test_r3gan_verdicts_name_the_penalties_and_the_other_model_without_a_speedup() -> None:
    r = {"model": "r3gan", "image_size": 32, "share_of_peak": 0.1, "peak_basis": "fp32", "data_share": 0.001,
         "img_per_s": 50.0, "r1_r2_share": 0.125, "plain_ms_per_step": 1000.0, "penalised_ms_per_step": 3000.0,
         "cost_vs": 3.2, "vs_model": "acgan", "vs_ms_per_step": 400.0}
    v = goals.train_verdicts(r)
    assert "speedup" not in v and v["r1_r2_share"].startswith("12.5% of the amortised step (3000.0 ms with")
    assert v["cost_vs"].startswith("3.2x the acgan step's time (400.0 ms)")
    assert build_parser().parse_args(["train", "--model", "r3gan", "--image-size", "64"]).model == "r3gan"


@pytest.mark.slow
def test_bench_train_r3gan_reports_the_amortised_step_and_its_parts(capsys: pytest.CaptureFixture[str],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    real = peak.measure_peak
    monkeypatch.setattr(peak, "measure_peak", lambda **kw: real(seconds=0.05, **kw))
    assert main(["train", "--model", "r3gan", "--image-size", "32", "--batch-size", "8", "--steps", "2",
                 "--device", "cpu", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    every, gamma = TrainConfig().r1_every, RECIPE.gamma[32]
    assert r["recipe"].startswith(f"rpgan, R1 {gamma:g} + R2 {gamma:g} every {every} D updates")
    amortised = ((every - 1) * r["plain_ms_per_step"] + r["penalised_ms_per_step"]) / every
    assert r["ms_per_step"] == pytest.approx(amortised, rel=0.01)
    assert r["img_per_s"] == pytest.approx(8000 / r["ms_per_step"], rel=0.02)
    assert r["r1_r2_share"] == pytest.approx((r["penalised_ms_per_step"] - r["plain_ms_per_step"]) / every
                                             / r["ms_per_step"], abs=0.002)
    assert r["vs_model"] == "acgan" and r["cost_vs"] == pytest.approx(r["ms_per_step"] / r["vs_ms_per_step"], rel=0.02)
    assert r["gflop_per_step"] > 0 and r["share_of_peak"] > 0 and "seed_style_img_per_s" not in r
