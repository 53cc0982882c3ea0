"""The studio's last choice (ui.choice_url): the dataset, preset and Train form values survive a
reload (a fresh session, no URL) and navigation; the Data page follows the same choice; the stored
file is only a hint (unknown, torn or hostile content is ignored); in zip mode the Data page shows
no report before anything is uploaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from app_helpers import isolate_home, opened, upload_shapes
from test_app_choice_url import LABELLED_PRESET

from gan_core import presets
from ui import choice_url


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolate_home(tmp_path, monkeypatch)


@pytest.fixture
def shapes(home: Path, tmp_path: Path) -> str:
    return upload_shapes(tmp_path)


# -- the stored file, at the function level -----------------------------------------------------
def test_a_stored_choice_round_trips_and_keeps_only_form_options(home: Path) -> None:
    values = {"train.batch_size": 24, "train.lr_g": 0.0003, "model.arch": "dcgan", "data.source": "x",
              "not.an.option": 1}
    choice_url.save_last(choice_url.LastChoice("builtin:mnist", "MNIST digits",
                                               choice_url.remembered_values(values)), home)
    last = choice_url.load_last(home)
    assert (last.dataset, last.preset) == ("builtin:mnist", "MNIST digits")
    assert last.values == {"train.batch_size": 24, "train.lr_g": 0.0003, "model.arch": "dcgan"}
    assert choice_url.values_for("builtin:mnist", "MNIST digits", home) == last.values
    assert choice_url.values_for("builtin:mnist", "Tiny smoke test", home) == {}  # values belong to their preset
    assert choice_url.values_for("builtin:orl-faces", "MNIST digits", home) == {}
    assert not list(home.glob(".*tmp*"))  # written through a temp file, renamed


@pytest.mark.parametrize("content", [
    "{not json", "[1, 2]", json.dumps({"dataset": 7, "preset": "MNIST digits"}),
    json.dumps({"dataset": "builtin:mnist", "preset": "../../etc/passwd", "values": {"train.batch_size": 3}}),
])
def test_an_unusable_file_is_ignored(home: Path, content: str) -> None:
    home.mkdir(exist_ok=True)
    choice_url.last_path(home).write_text(content)
    last = choice_url.load_last(home)
    assert last.values == {} and last.preset is None


@pytest.mark.parametrize("values", [{"model.arch": "no-such-net"}, {"train.batch_size": "lots"},
                                    {"train.batch_size": -5}, "not a dict"])
def test_stored_values_that_make_no_valid_config_are_dropped(home: Path, values: object) -> None:
    home.mkdir(exist_ok=True)
    choice_url.last_path(home).write_text(json.dumps(
        {"dataset": "builtin:mnist", "preset": "MNIST digits", "values": values}))
    last = choice_url.load_last(home)
    assert (last.dataset, last.preset, last.values) == ("builtin:mnist", "MNIST digits", {})


# -- the pages --------------------------------------------------------------------------------
def test_a_reload_without_a_url_restores_dataset_preset_and_form(shapes: str) -> None:
    at = opened("pages/train.py")
    at.selectbox(key="t_dataset").set_value(shapes).run()
    at.selectbox(key="t_preset").set_value("Tiny smoke test").run()
    at.number_input(key="t_batch_size").set_value(12).run()
    at.number_input(key="t_lr_g").set_value(0.0003).run()
    at.number_input(key="t_minutes").set_value(7.0).run()
    assert not at.exception

    again = opened("pages/train.py")  # a reload of bare /train: a fresh session, no query parameters
    assert again.selectbox(key="t_dataset").value == shapes
    assert again.selectbox(key="t_preset").value == "Tiny smoke test"
    assert again.number_input(key="t_batch_size").value == 12
    assert again.number_input(key="t_lr_g").value == pytest.approx(0.0003)
    assert again.number_input(key="t_minutes").value == 7.0
    assert again.query_params["dataset"] == shapes and again.query_params["preset"] == "Tiny smoke test"
    assert next(b.label for b in again.button if b.label.startswith("Start training")) == "Start training on shapes"

    data = opened("pages/data.py")  # the Data page follows the same choice
    assert data.radio(key="data_mode").value == "My uploads"
    assert data.selectbox(key="data_upload_pick").value == shapes


def test_the_url_wins_over_the_stored_choice_and_values_follow_their_preset(shapes: str) -> None:
    at = opened("pages/train.py", dataset=shapes)
    at.number_input(key="t_batch_size").set_value(20).run()

    same = opened("pages/train.py", dataset=shapes, preset=LABELLED_PRESET)
    assert same.number_input(key="t_batch_size").value == 20

    other = opened("pages/train.py", dataset=shapes, preset="Tiny smoke test")  # the link names another preset
    assert other.selectbox(key="t_preset").value == "Tiny smoke test"
    assert other.number_input(key="t_batch_size").value == 8  # the preset's own value, not the stored one

    mnist = opened("pages/train.py", dataset="builtin:mnist")
    assert mnist.selectbox(key="t_preset").value == "MNIST digits"
    expected = presets.get("MNIST digits").values.get("train.batch_size", 64)  # another dataset: its preset's values
    assert mnist.number_input(key="t_batch_size").value == expected != 20


def test_navigation_keeps_the_form(shapes: str) -> None:
    at = opened("pages/train.py", dataset=shapes)
    at.number_input(key="t_seed").set_value(4242).run()
    at.switch_page("pages/runs.py").run()
    at.switch_page("pages/train.py").run()
    assert at.number_input(key="t_seed").value == 4242 and at.selectbox(key="t_dataset").value == shapes


def test_zip_mode_shows_no_report_before_an_upload(home: Path) -> None:
    at = opened("pages/data.py")
    assert at.subheader and at.subheader[0].value.startswith("Dataset doctor · MNIST")
    at.radio(key="data_mode").set_value("Upload a .zip").run()
    assert not at.exception and not at.error
    assert not [s for s in at.subheader if s.value.startswith("Dataset doctor")]
    assert any("Upload a dataset to check it" in i.value for i in at.info)
