"""User-given names (runs, uploads, published checkpoints) never become paths outside the app."""

from pathlib import Path

import pytest

from ui import catalog, paths


@pytest.mark.parametrize("text,expected", [
    ("My run #1", "My-run-1"), ("../../etc/passwd", "etc-passwd"), ("/abs/path", "abs-path"),
    ("café déjà vu", "cafe-deja-vu"), ("猫", "item"), ("..", "item"), ("a" * 100, "a" * 64),
    ("con..trol", "con.trol"), (".hidden", "hidden"), ("  spaces  ", "spaces"),
])
def test_safe_name(text: str, expected: str) -> None:
    assert paths.safe_name(text) == expected
    assert paths.NAME_RE.match(paths.safe_name(text))


@pytest.mark.parametrize("bad", ["../x", "x/../../y", "/etc", "a/b", "..", ".git", "", "x" * 65, "a\x00b", "名前"])
def test_check_name_and_child_refuse_anything_unsafe(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError):
        paths.check_name(bad)
    with pytest.raises(ValueError):
        paths.child(tmp_path, bad)


def test_child_and_unique_child_stay_inside(tmp_path: Path) -> None:
    assert paths.child(tmp_path, "run-1") == (tmp_path / "run-1").resolve()
    (tmp_path / "faces").mkdir()
    assert paths.unique_child(tmp_path, "faces").name == "faces-2"
    assert paths.unique_child(tmp_path, "../faces").parent == tmp_path.resolve()


def test_catalog_resolves_names_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAN_STUDIO_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(catalog, "SHIPPED_DIR", tmp_path / "shipped")
    for bad in ("../shipped", "/etc/passwd", "x/y", "unknown"):
        with pytest.raises(ValueError):
            catalog.resolve(bad)
