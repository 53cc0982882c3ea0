"""AppTest: the Data page uploads datasets, runs the dataset doctor and hands the choice to Train."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_helpers import ROOT, image_zip, isolate_home
from streamlit.testing.v1 import AppTest


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolate_home(tmp_path, monkeypatch)


def data_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "studio.py"), default_timeout=60).run()
    return at.switch_page("pages/data.py").run()


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_doctor_on_an_uploaded_zip(home: Path) -> None:
    at = data_page()
    at.radio(key="data_mode").set_value("Upload a .zip").run()
    zip_bytes = image_zip({"cats": 6, "dogs": 4}, extra={"cats/notes.txt": b"hello", "../evil.png": b"x"},
                          copies={"dogs/copy-of-cat.png": "cats/0.png"})
    at.file_uploader(key="zip_upload").upload("pets.zip", zip_bytes, "application/zip").run()
    assert not at.exception and not at.error
    assert "Saved as **pets** (12 files unpacked, 1 unsafe or broken members left out)" in at.success[0].value
    assert (home / "uploads" / "pets" / "cats" / "0.png").is_file()
    m = metrics(at)
    assert m["Usable images"] == "11" and m["Classes"] == "2" and m["Skipped files"] == "1"
    assert m["Channels"] == "colour" and m["Exact duplicate groups"] == "1" and m["Near-duplicate pairs"] == "0"
    advice = at.info[-1].value
    assert "Small dataset (11 images)" in advice and "DiffAugment" in advice
    assert at.subheader[0].value == "Dataset doctor · pets (uploaded)"
    assert at.image  # the preview of what the model will see
    bars = at.get("plotly_chart")[0].proto.spec
    assert '"x":["cats","dogs"]' in bars.replace(" ", "") and '"y":[6,5]' in bars.replace(" ", "")
    skipped = at.expander[0]
    assert "Skipped files (1)" in skipped.label
    assert skipped.dataframe[0].value.to_dict("records") == [{"file": "cats/notes.txt", "reason": "not an image"}]
    dups = next(e for e in at.expander if e.label == "Duplicates: 1 identical group, 0 near-identical pairs")
    assert dups.caption[0].value == "identical: cats/0.png, dogs/copy-of-cat.png"
    assert len(dups.image) == 1  # one row of two thumbnails

    at.run()  # a rerun must not unpack the same upload again
    assert [p.name for p in (home / "uploads").iterdir()] == ["pets"]

    at.button(key="use_dataset_top").click().run()
    assert at.session_state["dataset_key"] == "upload:pets"
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert at.selectbox(key="t_dataset").value == "upload:pets"
    # a small labelled set of small pictures: the automatic preset, class-conditional at 32 px, with ADA
    assert at.selectbox(key="t_preset").value == "Auto (from the data)"
    assert (at.radio(key="t_arch").value, at.selectbox(key="t_image_size").value) == ("r3gan", 32)
    assert at.number_input(key="t_ada_target").value == 0.6
    assert any("11 images · 2 classes" in c.value for c in at.caption)


def test_a_bad_zip_is_a_readable_error_not_a_traceback(home: Path) -> None:
    at = data_page()
    at.radio(key="data_mode").set_value("Upload a .zip").run()
    at.file_uploader(key="zip_upload").upload("holiday.zip", b"PK\x03\x04 this is not really a zip").run()
    assert not at.exception
    assert at.error[0].value == "This upload cannot be used: holiday.zip is not a valid zip archive"
    assert not any((home / "uploads").iterdir())


def test_images_upload_of_a_flat_folder_gets_dcgan_advice(home: Path) -> None:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(image_zip({"": 5}))) as zf:
        files = [(f"holiday/{n}", zf.read(n), "image/png") for n in zf.namelist()]
    at = data_page()
    at.radio(key="data_mode").set_value("Upload images").run()
    at.radio(key="files_how").set_value("A whole folder").run()
    at.file_uploader(key="files_upload_A whole folder").set_value(files)
    at.text_input(key="files_name").set_value("holiday")
    at.run()
    save = next(b for b in at.button if b.label.startswith("Save 5 file(s)"))
    save.click().run()
    assert not at.exception and not at.error
    assert "Saved 5 file(s) as **holiday**" in at.success[0].value
    assert sorted(p.name for p in (home / "uploads" / "holiday").iterdir() if not p.name.startswith(".")) == \
        [f"{i}.png" for i in range(5)]  # the picked folder's own name is not a class
    assert metrics(at)["Classes"] == "none"
    assert "No class folders: train a DCGAN" in at.info[-1].value

    # Train refuses ACGAN for it, with the reason on the page
    at.switch_page("pages/train.py").run()
    at.radio(key="t_arch").set_value("acgan").run()
    assert any("ACGAN needs at least 2 classes" in e.value for e in at.error)
    assert all(b.disabled for b in at.button if b.label.startswith(("Start training", "Estimate time")))


def test_builtin_mnist_and_deleting_an_upload(home: Path) -> None:
    at = data_page()
    assert at.radio(key="data_builtin").value == "builtin:mnist"
    m = metrics(at)
    assert m["Usable images"] == "60,000" and m["Classes"] == "10" and m["Channels"] == "grey"

    at.radio(key="data_mode").set_value("Upload a .zip").run()
    at.file_uploader(key="zip_upload").upload("two.zip", image_zip({"a": 2, "b": 2})).run()
    at.radio(key="data_mode").set_value("My uploads").run()
    assert at.selectbox(key="data_upload_pick").value == "upload:two"
    at.button(key="delete_upload").click().run()
    assert not at.exception and not (home / "uploads" / "two").exists()
    assert any("Nothing uploaded yet" in i.value for i in at.info)


def test_a_zip_without_usable_images_cannot_be_trained(home: Path) -> None:
    junk = image_zip({}, extra={"notes.txt": b"hello", "a/broken.png": b"not a png"})
    at = data_page()
    at.radio(key="data_mode").set_value("Upload a .zip").run()
    at.file_uploader(key="zip_upload").upload("junk.zip", junk).run()
    assert not at.exception
    assert metrics(at)["Usable images"] == "0" and metrics(at)["Skipped files"] == "2"
    assert "No usable images were found" in at.error[0].value
    assert not [b for b in at.button if b.label.startswith("Use this dataset")]
    reasons = {r["file"]: r["reason"] for r in at.expander[0].dataframe[0].value.to_dict("records")}
    assert set(reasons) == {"notes.txt", "a/broken.png"}
    at.switch_page("pages/train.py").run()
    assert any("no usable images" in e.value for e in at.error)
    assert next(b for b in at.button if b.label.startswith("Start training")).disabled
