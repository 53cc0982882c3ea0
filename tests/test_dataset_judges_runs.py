"""`python -m gan_core.evaluate --checkpoint RUN` on a run the trainer made of an unlabelled upload
(issue 15's Done means): the automatic preset's R3GAN, measured by the label-free embedding, which
the table and the JSON name as such; nothing is trained or cached for it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_judge_datasets import make_zip

from gan_core import evaluate, train
from gan_core.cli import run_main
from gan_core.embedding import KIND, embedding_for


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    """A run folder trained (2 steps, tiny widths) with --preset auto on a zip of pictures without class folders."""
    monkeypatch.setenv("GAN_STUDIO_HOME", str(tmp_path / "home"))
    flat = make_zip(tmp_path / "flat.zip", {"": 40})
    out = tmp_path / "run"
    assert run_main(train.main, ["--dataset", str(flat), "--preset", "auto", "--ngf", "8", "--ndf", "8", "--nz", "16",
                                 "--steps", "2", "--batch-size", "8", "--eval-every", "0", "--threads", "1",
                                 "--quiet", "--out", str(out)]) == 0
    capsys.readouterr()
    return out


def test_evaluate_a_run_on_an_unlabelled_upload_prints_the_label_free_figures_by_name(
        run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(evaluate.main, ["--checkpoint", str(run), "--n", "40", "--threads", "1"]) == 0
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    table = out.out.splitlines()
    name = embedding_for(32, 1).name
    assert name.startswith(f"{KIND}: random conv net")
    assert f"measured with     {name} (no class figures: the dataset has no classes (no class folders))" in table
    assert "samples           40 (r3gan, 32px)" in table
    starts = [line.split()[0] for line in table]
    assert {"FD", "KID", "precision/recall", "memorisation"} <= set(starts)
    assert "class" not in starts and "judged" not in starts  # no class figures without classes

    assert run_main(evaluate.main, ["--checkpoint", str(run), "--n", "40", "--threads", "1", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert (r["judge"], r["judge_kind"], r["judge_test_accuracy"]) == (name, KIND, None)
    assert r["arch"] == "r3gan" and r["dataset"] == str(tmp_path / "flat.zip")
    assert r["fd"] > 0 and r["kid"] is not None and r["memorisation"]["samples"] == 40
    assert r["checkpoint"].startswith(str(run))
    assert not (tmp_path / "home" / "judges").exists()  # the embedding is fixed: nothing trained, nothing cached


def test_evaluate_takes_a_runs_best_checkpoint_unless_asked_for_its_latest(
        run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A run directory is evaluated at its result, `checkpoints/best` (what Publish takes); `--which
    latest` evaluates the newest; the JSON says which step it read."""
    import shutil

    early = tmp_path / "step2"
    shutil.copytree(run / "checkpoints" / "latest", early)
    assert run_main(train.main, ["--out", str(run), "--resume", "--steps", "4", "--quiet"]) == 0
    shutil.rmtree(run / "checkpoints" / "best")
    shutil.copytree(early, run / "checkpoints" / "best")  # as if the judge had scored step 2 best
    capsys.readouterr()
    steps = {}
    for which in ([], ["--which", "latest"]):
        assert run_main(evaluate.main, ["--checkpoint", str(run), "--n", "40", "--threads", "1", "--json", *which]) == 0
        r = json.loads(capsys.readouterr().out)
        steps[tuple(which)] = (r["step"], Path(r["checkpoint"]).name)
    assert steps == {(): (2, "best"), ("--which", "latest"): (4, "latest")}
