"""ui/visibility.py: what a visitor sees. Published runs only, no uploads, messages without paths
or tracebacks; the owner sees everything as it is."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from app_helpers import ROOT, image_zip, isolate_home, tiny_config

from gan_core.runs import RunDir
from ui import paths, publishing, roles, uploads, visibility


def test_paths_and_tracebacks_are_cut_from_what_visitors_read() -> None:
    text = ('Traceback (most recent call last):\n  File "/srv/app/ui/x.py", line 3, in f\n    g()\n'
            "CheckpointError: /home/user/app_data/published/faces/generator.safetensors does not match "
            "(see C:\\Users\\me\\faces.zip) at step 10/20")
    out = visibility.scrub(text)
    assert "/home/user" not in out and "Users" not in out and "Traceback" not in out and "x.py" not in out
    assert "generator.safetensors does not match" in out and "faces.zip" in out and "step 10/20" in out
    with roles.acting_as(roles.VISITOR):
        assert visibility.shown(text) == out
        assert visibility.error_line(ValueError("/etc/secret/file.txt is broken")) == "file.txt is broken"
    with roles.acting_as(roles.OWNER):
        assert visibility.shown(text) == text


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolate_home(tmp_path, monkeypatch)


def test_visitors_see_published_runs_and_built_in_data_only(home: Path) -> None:
    import shutil

    for name in ("shared", "private"):
        rd = RunDir(paths.runs_dir() / name)
        rd.create(tiny_config("mnist"))
        rd.write_app_meta({"title": name, "launches": []})
        rd.write_status("finished", step=20, total_steps=20)
        shutil.copytree(ROOT / "checkpoints" / "mnist-dcgan", rd.checkpoint("latest"))
    publishing.publish("shared", "shared-model")
    up = uploads.save_zip("faces.zip", image_zip({"a": 2}))
    runs = [SimpleNamespace(name="shared"), SimpleNamespace(name="private")]
    choices = [SimpleNamespace(key="builtin:mnist"), SimpleNamespace(key=f"upload:{up.name}")]
    with roles.acting_as(roles.VISITOR):
        assert [r.name for r in visibility.visible_runs(runs)] == ["shared"]
        assert [c.key for c in visibility.visible_choices(choices)] == ["builtin:mnist"]
        assert visibility.may_show_dataset("mnist") and not visibility.may_show_dataset(str(up.path))
    with roles.acting_as(roles.OWNER):
        assert visibility.visible_runs(runs) == runs and visibility.visible_choices(choices) == choices
        assert visibility.may_show_dataset(str(up.path))
