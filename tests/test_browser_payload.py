"""What the page gets for in-browser rendering: the payload (model, directions, server references) and
the /gs-browser routes (only the named files, with the types browsers need)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from panel_support import control_values, make_checkpoints, panel_logic

pytest.importorskip("onnxruntime")


@pytest.fixture
def logic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    shipped = make_checkpoints(tmp_path / "shipped", ("digits", "plain"))
    return panel_logic(monkeypatch, shipped, tmp_path / "home")


@pytest.fixture(scope="module")
def export_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One export cache for the module: the tiny checkpoints are made alike, so each is exported once."""
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, export_cache: Path) -> Path:
    """A stand-in onnxruntime-web install at the pinned version (the real one may not be installed)."""
    from ui.browser import assets

    monkeypatch.setattr(assets, "cache_root", lambda: export_cache)
    dist = tmp_path / "node_modules" / "onnxruntime-web" / "dist"
    dist.mkdir(parents=True)
    (dist.parent / "package.json").write_text(json.dumps({"version": assets.pinned_version()}))
    for name in assets.RUNTIME_FILES:
        (dist / name).write_bytes(b"\0asm" if name.endswith(".wasm") else b"// js")
    monkeypatch.setattr(assets, "runtime_dir", lambda: dist)
    return dist


def _data(logic, **changes) -> dict:
    return json.loads(logic.browser({"browser_on": True, **control_values(**changes)})["browser_data"])


@pytest.mark.slow  # the first ONNX export of the module: ~5-20 s on a busy 2-core machine
def test_payload_carries_model_directions_values_and_server_references(logic, runtime: Path) -> None:
    data = _data(logic, t=0.5, d1=1.5)
    assert data["on"] is True and data.get("error") is None
    m = data["model"]
    assert m["checkpoint"] == "digits" and m["nz"] == 16 and m["num_classes"] == 10 and m["image_size"] == 32
    assert m["url"] == f"/gs-browser/model/{m['weights_hash']}/" and m["file"] in m["bytes"]
    svc = logic.service("digits")
    vecs = np.frombuffer(base64.b64decode(data["directions"]["vectors"]), np.float32).reshape(-1, 16)
    assert np.array_equal(vecs, svc.directions(data["directions"]["k"]).vectors)
    assert data["values"]["t"] == 0.5 and data["values"]["d1"] == 1.5
    # the server's own pixels for each reference recipe, the current one among them
    refs = data["references"]
    assert [r["recipe"]["t"] for r in refs] == [0.0, 0.37, 1.0, 0.5]
    from gan_core.explore import Recipe

    for ref in refs:
        r = Recipe(checkpoint="digits", **{k: v for k, v in ref["recipe"].items()})
        got = np.frombuffer(base64.b64decode(ref["pixels"]), np.uint8).reshape(ref["shape"])
        assert np.array_equal(got, svc.render_recipe(r))
    # the exported files are where the route serves them from
    from ui.browser import assets

    folder = assets.cache_root() / m["weights_hash"]
    assert (folder / m["file"]).is_file() and (folder / "model.json").is_file()


def test_off_and_problems_come_back_as_a_message_not_an_error(logic, runtime: Path, monkeypatch) -> None:
    assert json.loads(logic.browser({"browser_on": False, **control_values()})["browser_data"]) == \
        {"on": False, "error": None}
    bad = _data(logic, checkpoint="nope")
    assert bad["on"] is False and "waiting for a valid recipe" in bad["error"]
    from gan_core import onnx_export

    def refuse(*a, **k):
        raise onnx_export.ExportError("the generator could not be exported to ONNX: unsupported op")

    monkeypatch.setattr(onnx_export, "cached_export", refuse)
    data = _data(logic)
    assert data["on"] is False and "cannot be rendered in the browser" in data["error"]
    assert "unsupported op" in data["error"] and "server" in data["error"]


def test_a_missing_or_wrong_runtime_falls_back_with_the_install_command(logic, runtime: Path) -> None:
    (runtime.parent / "package.json").write_text(json.dumps({"version": "0.0.1"}))
    data = _data(logic)
    assert data["on"] is False and "0.0.1 is installed" in data["error"] and "npm ci" in data["error"]
    (runtime.parent / "package.json").unlink()
    data = _data(logic)
    assert data["on"] is False and "npm ci" in data["error"] and "server" in data["error"]


@pytest.mark.slow  # exports too when run alone
def test_routes_serve_only_the_named_files_with_browser_types(logic, runtime: Path) -> None:
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from ui.browser import assets

    m = _data(logic)["model"]
    client = TestClient(Starlette(routes=assets.routes()))
    r = client.get("/gs-browser/ort/ort-wasm-simd-threaded.wasm")
    assert r.status_code == 200 and r.headers["content-type"] == "application/wasm"
    assert client.get("/gs-browser/ort/ort-wasm-simd-threaded.mjs").headers["content-type"].startswith("text/javascript")
    r = client.get("/gs-browser/js/latent.js")
    assert r.status_code == 200 and "zFromSeed" in r.text and r.headers["cache-control"] == "no-cache"
    r = client.get(f"/gs-browser/model/{m['weights_hash']}/{m['file']}")
    assert r.status_code == 200 and len(r.content) == m["bytes"][m["file"]]
    for bad in ("/gs-browser/ort/package.json", "/gs-browser/js/../assets.py", "/gs-browser/js/payload.py",
                f"/gs-browser/model/{m['weights_hash']}/../../secret", "/gs-browser/model/ZZ/model.json",
                f"/gs-browser/model/{'0' * 16}/model.json"):
        assert client.get(bad).status_code == 404, bad


def test_the_panel_page_loads_the_scripts_and_has_the_switch(tmp_path: Path, monkeypatch) -> None:
    from ui.panel import launch_options

    head = launch_options()["head"]
    assert '<script src="/gs-browser/js/latent.js">' in head and '<script src="/gs-browser/js/render.js">' in head
    pinned = json.loads((Path(__file__).resolve().parents[1] / "package.json").read_text())
    lock = json.loads((Path(__file__).resolve().parents[1] / "package-lock.json").read_text())
    version = pinned["dependencies"]["onnxruntime-web"]
    assert version[0].isdigit()  # an exact pin, not a range
    assert lock["packages"]["node_modules/onnxruntime-web"]["version"] == version


def test_switching_off_renders_the_current_controls_on_the_server(logic) -> None:
    """The sliders moved while the page rendered (Gradio kept their values): off shows the server's image."""
    from panel_support import pixels

    out = logic.browser_switched({"browser_on": False, **control_values(t=0.8, psi=0.7)})
    assert json.loads(out["browser_data"]) == {"on": False, "error": None}
    from gan_core.explore import Recipe

    want = logic.service("digits").render_recipe(Recipe(checkpoint="digits", t=0.8, psi=0.7))
    assert np.array_equal(pixels(out["image"]), want)
    assert "image" not in logic.browser_switched({"browser_on": False, **control_values(checkpoint="nope")})
