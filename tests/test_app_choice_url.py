"""AppTest: the chosen dataset and preset live in the URL (?dataset=, ?preset=), so a reload of the
Train or Data page stays on the user's choice; unknown or hostile values fall back quietly; the
Start button names the dataset it will train on."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_helpers import isolate_home, opened, upload_shapes
from streamlit.testing.v1 import AppTest

from gan_core import presets

LABELLED_PRESET = presets.AUTO  # what the Train page suggests for an upload (its recipe follows the data)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolate_home(tmp_path, monkeypatch)


@pytest.fixture
def shapes(home: Path, tmp_path: Path) -> str:
    """An uploaded set of two class folders of small pictures; its choice key."""
    return upload_shapes(tmp_path)


def start_label(at: AppTest) -> str:
    return next(b.label for b in at.button if b.label.startswith("Start training"))


def test_a_reload_of_train_keeps_the_uploaded_dataset_and_its_preset(shapes: str) -> None:
    at = opened("pages/train.py", dataset=shapes)
    assert at.selectbox(key="t_dataset").value == shapes
    assert at.selectbox(key="t_preset").value == LABELLED_PRESET
    assert (at.radio(key="t_arch").value, at.selectbox(key="t_image_size").value) == ("r3gan", 32)
    assert start_label(at) == "Start training on shapes"
    assert at.session_state["dataset_key"] == shapes and not at.error
    assert at.query_params["dataset"] == shapes and at.query_params["preset"] == LABELLED_PRESET


def test_a_reload_keeps_a_preset_the_user_picked(shapes: str) -> None:
    at = opened("pages/train.py", dataset=shapes, preset="Tiny smoke test")
    assert at.selectbox(key="t_dataset").value == shapes
    assert at.selectbox(key="t_preset").value == "Tiny smoke test"
    assert (at.number_input(key="t_ngf").value, at.number_input(key="t_batch_size").value) == (8, 8)


def test_choosing_on_train_writes_the_url(shapes: str) -> None:
    at = opened("pages/train.py")
    assert at.selectbox(key="t_dataset").value == "builtin:mnist"
    assert at.query_params["dataset"] == "builtin:mnist" and start_label(at) == "Start training on MNIST digits"

    at.selectbox(key="t_dataset").set_value(shapes).run()
    assert at.query_params["dataset"] == shapes and at.query_params["preset"] == LABELLED_PRESET
    assert start_label(at) == "Start training on shapes"

    at.selectbox(key="t_preset").set_value("Tiny smoke test").run()
    assert at.query_params["preset"] == "Tiny smoke test" and at.query_params["dataset"] == shapes


def test_choosing_on_data_writes_the_url_and_a_reload_of_data_keeps_it(shapes: str) -> None:
    at = opened("pages/data.py")
    at.radio(key="data_builtin").set_value("builtin:orl-faces").run()
    assert at.query_params["dataset"] == "builtin:orl-faces"

    at = opened("pages/data.py", dataset=shapes)  # reload: the doctor reports on the upload, not MNIST
    assert at.radio(key="data_mode").value == "My uploads"
    assert at.selectbox(key="data_upload_pick").value == shapes
    assert at.subheader[0].value == "Dataset doctor · shapes (uploaded)" and not at.error


@pytest.mark.parametrize("dataset", ["../../etc", "upload:../../etc", "upload:gone", "builtin:passwd", ""])
def test_unknown_or_hostile_values_fall_back_without_an_error(home: Path, dataset: str) -> None:
    at = opened("pages/train.py", dataset=dataset, preset="../../etc/passwd")
    assert not at.error and at.selectbox(key="t_dataset").value == "builtin:mnist"
    assert at.selectbox(key="t_preset").value == "MNIST digits"
    assert at.query_params["dataset"] == "builtin:mnist" and at.query_params["preset"] == "MNIST digits"

    at = opened("pages/data.py", dataset=dataset)
    assert not at.error and at.radio(key="data_mode").value == "Built-in"
    assert at.subheader[0].value == "Dataset doctor · MNIST digits (built-in)"


def test_a_deep_link_gets_the_studio_page_with_the_servers_root_named(tmp_path: Path) -> None:
    """/<page> is answered with Streamlit's index.html plus BACKEND_BASE_URL, so the frontend does not
    probe /<page>/_stcore/health and /<page>/_stcore/host-config (404s in the console); the browser
    check is in tests/test_e2e_journey.py."""
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from ui.server import page_routes

    pages = tmp_path / "pages"
    pages.mkdir()
    for name in ("home", "data", "train", "monitor"):
        (pages / f"{name}.py").write_text("")
    routes = page_routes(pages)
    assert sorted(r.path for r in routes) == ["/data", "/monitor", "/train"]  # home is the root page
    client = TestClient(Starlette(routes=routes))
    r = client.get("/train?dataset=builtin:mnist")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-cache"
    head = r.text
    assert head.index("BACKEND_BASE_URL") < head.index('<script type="module"')
    assert client.get("/train/_stcore/health").status_code == 404  # no guessing answered here
