"""Model cards and the README's shipped-checkpoints table are generated from each checkpoint's
evaluation.json and config.json (scripts/publish_checkpoint.py), so their figures cannot go stale."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import SHIPPED

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def publish():
    spec = importlib.util.spec_from_file_location("publish_checkpoint", ROOT / "scripts" / "publish_checkpoint.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(autouse=True)
def _project_checkpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GAN_STUDIO_SHIPPED", raising=False)


def _readme_table() -> list[str]:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("| name | model | evaluation"))
    return lines[start:lines.index("", start)]


def test_every_shipped_checkpoint_has_an_evaluation_and_a_row(publish) -> None:
    assert publish.shipped_names() == sorted(SHIPPED)
    assert [re.match(r"\| `([^`]+)`", row).group(1) for row in _readme_table()[2:]] == sorted(SHIPPED)


def test_readme_table_figures_match_the_evaluation_files(publish) -> None:
    """Regenerate with `python scripts/publish_checkpoint.py --cards-only` after an evaluation changes."""
    assert _readme_table() == publish.readme_table(publish.shipped_names())


@pytest.mark.parametrize("name", SHIPPED)
def test_readme_row_quotes_this_checkpoints_own_figures(name: str, publish) -> None:
    r = json.loads((ROOT / "checkpoints" / name / "evaluation.json").read_text())
    row = next(row for row in _readme_table() if row.startswith(f"| `{name}` |"))
    assert f"FD {publish._fig(r['fd'])} " in row and f"({r['fd_ratio']:.1f}x" in row
    assert f"precision/recall {r['precision']:.2f}/{r['recall']:.2f}" in row
    if r.get("class_consistency") is not None:
        assert f"class consistency {r['class_consistency']:.1%}" in row


@pytest.mark.parametrize("name", SHIPPED)
def test_committed_cards_are_what_the_files_generate(name: str, publish) -> None:
    folder = ROOT / "checkpoints" / name
    assert (folder / "README.md").read_text(encoding="utf-8") == publish.card(folder)


def test_judge_accuracies_in_the_readme_are_the_judges_own() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for judge in ("digits", "faces"):
        config = json.loads((ROOT / "checkpoints" / "judges" / judge / "config.json").read_text())
        acc = config["judge"]["test_accuracy"]
        assert f"{judge} {acc:.2%}" in text


def test_cards_only_rewrites_cards_from_the_folder_alone(publish, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """No run directory, no evaluation: config.json + evaluation.json (+ the weights' size) suffice,
    and a changed evaluation changes the card; the project README is left alone for another folder."""
    src = ROOT / "checkpoints" / "mnist-acgan"
    dst = tmp_path / "mnist-acgan"
    dst.mkdir()
    for f in ("config.json", "evaluation.json", "generator_ema.safetensors"):
        shutil.copy2(src / f, dst / f)
    r = json.loads((dst / "evaluation.json").read_text())
    r["class_consistency"] = 0.5
    (dst / "evaluation.json").write_text(json.dumps(r))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    monkeypatch.setenv("GAN_STUDIO_SHIPPED", str(tmp_path))
    assert publish.main(["--cards-only"]) == 0
    card = (dst / "README.md").read_text(encoding="utf-8")
    assert "reads 50.0% of samples as the requested class" in card
    assert (ROOT / "README.md").read_text(encoding="utf-8") == readme
    assert "wrote" in capsys.readouterr().out


def test_an_r3gan_card_states_its_recipe_and_no_batchnorm(publish, tmp_path: Path) -> None:
    """The card of an automatic-preset R3GAN reads its recipe from the recorded run: EMA by half-life,
    R1 and R2, adaptive augmentation, the mode-seeking term, the time budget; no BatchNorm claims."""
    src = ROOT / "checkpoints" / "mnist-acgan"
    dst = tmp_path / "digits-r3gan"
    dst.mkdir()
    for f in ("evaluation.json", "generator_ema.safetensors"):
        shutil.copy2(src / f, dst / f)
    cfg = json.loads((src / "config.json").read_text())
    cfg["model"].update(arch="r3gan", ngf=32, ndf=32)
    train = cfg["meta"]["training"]["run_config"]["train"]
    train.update(loss="rpgan", ema_halflife_kimg=10.0, r1_gamma=0.1, r2_gamma=0.1, ada_target=0.6,
                 mode_seeking=0.1, minutes=10.0, diffaug="", aux_in_g=False, lr_decay=0.4, lr_final=0.1)
    (dst / "config.json").write_text(json.dumps(cfg))
    card = publish.card(dst)
    for text in ("R3GAN generator", "no normalisation layers", "EMA half-life 10k images", "time budget 10 min",
                 "R1 and R2 penalties gamma 0.1 / 0.1", "adaptive augmentation (target 0.6)", "mode-seeking term 0.1",
                 "no class loss for G", "learning rates decayed over the last 40% of the run to 0.1x"):
        assert text in card, text
    assert "BatchNorm" not in card and "D norm" not in card and "EMA 0.999" not in card
    train.update(lr_decay_plateau=True)
    (dst / "config.json").write_text(json.dumps(cfg))
    assert "decayed over at most the last 40% of the run, from when the judged FD stalled" in publish.card(dst)
    train.update(r1_gamma=0.0)  # R2 alone is stated alone
    (dst / "config.json").write_text(json.dumps(cfg))
    r2_only = publish.card(dst)
    assert "R2 penalty gamma 0.1 (every" in r2_only and "R1" not in r2_only
    acgan = publish.card(ROOT / "checkpoints" / "mnist-acgan")
    assert "BatchNorm statistics recalibrated" in acgan and "EMA 0.999" in acgan and "half-life" not in acgan
