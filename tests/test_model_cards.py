"""Model cards and the README's shipped-checkpoints table are generated from each checkpoint's
evaluation.json and config.json (scripts/publish_checkpoint.py), so their figures cannot go stale."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("mnist-acgan", "mnist-dcgan", "orl-faces-acgan")


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
    assert f"FD {r['fd']:.3f}"[:8] in row and f"({r['fd_ratio']:.1f}x" in row
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
