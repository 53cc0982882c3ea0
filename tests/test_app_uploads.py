"""ui/uploads.py: uploads are saved under the app's uploads folder, with safe names, or refused."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from app_helpers import image_zip, isolate_home

from ui import doctor_view, uploads


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolate_home(tmp_path, monkeypatch)


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def test_clean_parts_sanitises_every_part() -> None:
    assert uploads.clean_parts("../../etc/passwd") == ["etc", "passwd"]
    assert uploads.clean_parts("C:\\Users\\me\\Chats été\\photo 1.JPG") == ["me", "Chats-ete", "photo-1.jpg"]
    assert uploads.clean_parts(".DS_Store") is None and uploads.clean_parts("a/.git/x.png") is None
    assert uploads.clean_parts("////") is None
    assert uploads.strip_common_root(["pics/cats/1.png", "pics/dogs/2.png"]) == ["cats/1.png", "dogs/2.png"]
    assert uploads.strip_common_root(["a.png", "b.png"]) == ["a.png", "b.png"]


def test_a_zip_is_unpacked_inside_the_uploads_folder_without_unsafe_members(home: Path) -> None:
    data = image_zip({"cats": 3, "dogs": 2}, extra={"../escape.png": b"x", "/abs.png": b"y"})
    saved = uploads.save_zip("My Pets (2024).zip", data)
    assert saved.path == home / "uploads" / "My-Pets-2024" and saved.files == 5
    assert files_under(saved.path) == ["cats/0.png", "cats/1.png", "cats/2.png", "dogs/0.png", "dogs/1.png"]
    assert {r for _, r in saved.skipped} == {"path traversal (..)", "absolute path"}
    assert not (home / "escape.png").exists() and not (home / "uploads" / "escape.png").exists()
    assert not list((home / "uploads").glob(".incoming-*"))  # the temporary archive is gone
    again = uploads.save_zip("My Pets (2024).zip", data)  # same name: a new folder, never overwritten
    assert again.name == "My-Pets-2024-2"
    assert [u.name for u in uploads.list_uploads()] == ["My-Pets-2024-2", "My-Pets-2024"]


@pytest.mark.parametrize("data,message", [(b"not a zip at all", "not a valid zip"), (b"", "empty")])
def test_broken_uploads_are_refused_with_one_line(home: Path, data: bytes, message: str) -> None:
    with pytest.raises(uploads.UploadError, match=message):
        uploads.save_zip("bad.zip", data)
    assert uploads.list_uploads() == []  # nothing left behind


def test_zip_bombs_are_refused(home: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.png", b"\0" * (8 * 1024 * 1024))  # 8 MB of zeros -> ~8 KB
    with pytest.raises(uploads.UploadError, match="zip bomb"):
        uploads.save_zip("bomb.zip", buf.getvalue())
    assert uploads.list_uploads() == []


def test_loose_files_keep_their_class_folders_with_safe_names(home: Path) -> None:
    png = image_zip({"x": 1})  # any bytes will do for saving; reuse real PNG bytes from a zip
    with zipfile.ZipFile(io.BytesIO(png)) as zf:
        one = zf.read("x/0.png")
    saved = uploads.save_files([("shots/cats/a b.png", one), ("shots/cats/a-b.png", one), ("shots/cats/a_b.png", one),
                                ("shots/dogs/../../x.png", one), ("shots/.hidden.png", one),
                                ("shots/dogs/empty.png", b"")], "Holiday shots!")
    assert saved.name == "Holiday-shots" and saved.files == 4
    assert files_under(saved.path) == ["cats/a-b-2.png", "cats/a-b.png", "cats/a_b.png", "dogs/x.png"]
    assert {r for _, r in saved.skipped} == {"hidden file", "empty file"}
    with pytest.raises(uploads.UploadError, match="no files"):
        uploads.save_files([], "x")


def test_doctor_choices_resolve_only_known_datasets(home: Path) -> None:
    saved = uploads.save_zip("set.zip", image_zip({"a": 2, "b": 2}))
    keys = [c.key for c in doctor_view.all_choices()]
    assert keys == ["builtin:mnist", "builtin:orl-faces", f"upload:{saved.name}"]
    assert doctor_view.resolve_choice(f"upload:{saved.name}").source == str(saved.path)
    for bad in ("upload:../etc", "upload:nothing", "builtin:cifar", "elsewhere:/tmp"):
        with pytest.raises(ValueError):
            doctor_view.resolve_choice(bad)
    report = doctor_view.diagnose(str(saved.path), 32)
    assert report.num_images == 4 and report.class_counts == {"a": 2, "b": 2}
    assert doctor_view.thumbnail(str(saved.path), "a/0.png").shape == (20, 20, 3)
    assert doctor_view.thumbnail(str(saved.path), "../../../etc/passwd") is None
    with pytest.raises(doctor_view.DoctorError, match="not found"):
        doctor_view.diagnose(str(home / "missing"), 32)
    uploads.delete_upload(saved.name)
    assert uploads.list_uploads() == []
