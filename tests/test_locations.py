"""The shipped-checkpoint folder and the judges inside it honour GAN_STUDIO_SHIPPED everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from gan_core import judges
from gan_core.data.paths import project_root
from gan_core.locations import judges_dir, shipped_dir


def test_default_is_the_projects_checkpoints_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GAN_STUDIO_SHIPPED", raising=False)
    assert shipped_dir() == project_root() / "checkpoints"
    assert judges.judge_path("digits") == project_root() / "checkpoints" / "judges" / "digits"
    assert judges.has_judge("mnist") and judges.has_judge("orl-faces:train") and not judges.has_judge("my/folder")


def test_the_override_moves_the_judges_too(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GAN_STUDIO_SHIPPED", str(tmp_path))
    assert shipped_dir() == tmp_path and judges_dir() == tmp_path / "judges"
    assert not judges.has_judge("mnist")  # no judges there: the trainer skips its light evaluation
    (tmp_path / "judges" / "digits").mkdir(parents=True)
    assert judges.has_judge("mnist") and judges.judge_path("digits") == tmp_path / "judges" / "digits"


def test_ui_paths_take_the_shipped_folder_from_the_library(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import importlib

    import ui.paths

    monkeypatch.setenv("GAN_STUDIO_SHIPPED", str(tmp_path / "shipped"))
    monkeypatch.setenv("GAN_STUDIO_HOME", str(tmp_path / "home"))
    try:
        fresh = importlib.reload(ui.paths)
        assert fresh.SHIPPED_DIR == (tmp_path / "shipped").resolve() == fresh.shipped_dir()
        assert fresh.app_home() == (tmp_path / "home").resolve() and fresh.runs_dir().parent == fresh.app_home()
    finally:
        monkeypatch.undo()
        importlib.reload(ui.paths)


def test_the_registry_names_a_judge_per_builtin_dataset() -> None:
    assert judges.DATASET_JUDGE == {"mnist": "digits", "orl-faces": "faces"}
    assert judges.base_dataset("orl-faces:test") == "orl-faces" and judges.base_dataset("x.zip") == "x.zip"
    with pytest.raises(Exception, match="no judge for dataset"):
        judges.judge_for_dataset("my/folder")
    with pytest.raises(Exception, match="unknown judge"):
        judges.build_judge("cats")
