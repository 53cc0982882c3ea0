"""The panel's named API through gradio_client, against the panel launched in this process; and how an
endpoint is published (ui/panel_api.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
from gradio_client import Client
from PIL import Image

from panel_support import free_port, make_checkpoints, use_catalogue
from gan_core.explore import from_bytes
from ui.panel import build_panel, launch_options
from ui.panel_api import publish
from ui.services import RenderHub


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    mp = pytest.MonkeyPatch()
    shipped = make_checkpoints(tmp_path_factory.mktemp("shipped"))
    use_catalogue(mp, shipped, tmp_path_factory.mktemp("home"))
    demo = build_panel(RenderHub(threads=0))
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True,
                ssr_mode=False, **launch_options())
    try:
        yield Client(f"http://127.0.0.1:{port}/", verbose=False)
    finally:
        demo.close()
        mp.undo()


def img(path: str) -> np.ndarray:
    return np.array(Image.open(path))


def render(client: Client, *args: Any) -> np.ndarray:
    return img(client.predict(*args, api_name="/render"))


def test_only_the_three_named_endpoints_are_public(client: Client) -> None:
    api = client.view_api(print_info=False, return_format="dict")
    assert sorted(api["named_endpoints"]) == ["/animate", "/interpolate", "/render"]
    params = [p["parameter_name"] for p in api["named_endpoints"]["/interpolate"]["parameters"]]
    assert params == ["checkpoint", "seed_a", "seed_b", "t", "mode", "class_a", "class_b"]
    assert [p["parameter_name"] for p in api["named_endpoints"]["/render"]["parameters"]] == \
        ["checkpoint", "seed", "class_index", "truncation"]


def test_render(client: Client) -> None:
    path = client.predict("digits", 5, 3, 0.8, api_name="/render")
    a = img(path)
    assert a.shape == (32, 32) and a.dtype == np.uint8
    r = from_bytes(Path(path).read_bytes())  # the PNG carries its recipe
    assert (r.checkpoint, r.seed_a, r.class_a, r.psi) == ("digits", 5, 3, 0.8)
    assert np.array_equal(render(client, "digits", 5, 3, 0.8), a)  # deterministic
    assert not np.array_equal(render(client, "digits", 6, 3, 0.8), a)  # different seeds differ
    assert not np.array_equal(render(client, "digits", 5, 4, 0.8), a)  # different classes differ
    assert render(client, "plain", 5, -1, 1.0).shape == (32, 32, 3)


@pytest.mark.parametrize("ckpt, ca, cb", [("digits", 2, 7), ("digits", -1, -1), ("faces", 1, 3), ("plain", -1, -1)])
@pytest.mark.parametrize("mode", ["slerp", "lerp"])
def test_interpolate_ends_equal_render(client: Client, ckpt: str, ca: int, cb: int, mode: str) -> None:
    a = render(client, ckpt, 11, ca, 1.0)
    b = render(client, ckpt, 12, cb, 1.0)
    assert not np.array_equal(a, b)
    t0 = img(client.predict(ckpt, 11, 12, 0.0, mode, ca, cb, api_name="/interpolate"))
    t1 = img(client.predict(ckpt, 11, 12, 1.0, mode, ca, cb, api_name="/interpolate"))
    mid = img(client.predict(ckpt, 11, 12, 0.5, mode, ca, cb, api_name="/interpolate"))
    assert np.array_equal(t0, a) and np.array_equal(t1, b)
    assert not np.array_equal(mid, a) and not np.array_equal(mid, b)


def test_animate_returns_a_gif_with_the_requested_frames(client: Client) -> None:
    path = client.predict("digits", 11, 12, 7, "slerp", 2, 7, api_name="/animate")
    assert path.endswith(".gif")
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 7
        first = np.array(gif.convert("L"))
        gif.seek(6)
        last = np.array(gif.convert("L"))
    # grey frames keep a grey palette, so they are exact
    assert np.array_equal(first, render(client, "digits", 11, 2, 1.0))
    assert np.array_equal(last, render(client, "digits", 12, 7, 1.0))
    r = from_bytes(Path(path).read_bytes())
    assert (r.frames, r.seed_a, r.seed_b, r.class_b) == (7, 11, 12, 7)


@pytest.mark.parametrize("api, args, message", [
    ("/render", ("nope", 1, -1, 1.0), "unknown checkpoint 'nope'"),
    ("/render", ("../x", 1, -1, 1.0), "invalid name '../x'"),
    ("/render", ("/etc/passwd", 1, -1, 1.0), "invalid name"),
    ("/render", ("digits", -1, -1, 1.0), "seed must be between 0 and 4294967295"),
    ("/render", ("digits", 2**32, -1, 1.0), "seed must be between"),
    ("/render", ("digits", 1, 10, 1.0), r"class_index must be between 0 and 9 \(or -1\)"),
    ("/render", ("plain", 1, 0, 1.0), "unconditional"),
    ("/render", ("digits", 1, -1, 0.0), "truncation must be between 0.05 and 2"),
    ("/interpolate", ("digits", 1, 2, 1.5, "slerp", -1, -1), "t must be between 0 and 1"),
    ("/interpolate", ("digits", 1, 2, 0.5, "cubic", -1, -1), "mode must be one of slerp, lerp"),
    ("/interpolate", ("digits", 1, 2, 0.5, "lerp", -2, -1), "class_a must be between -1"),
    ("/animate", ("digits", 1, 2, 1000, "slerp", -1, -1), "frames must be between 2 and 240"),
    ("/animate", ("digits", 1, 2, 1, "slerp", -1, -1), "frames must be between 2 and 240"),
    ("/animate", ("..", 1, 2, 5, "slerp", -1, -1), "invalid name"),
])
def test_bad_inputs_get_readable_errors(client: Client, api: str, args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(Exception, match=message) as err:
        client.predict(*args, api_name=api)
    assert "Traceback" not in str(err.value)


def test_private_events_are_not_callable(client: Client) -> None:
    with pytest.raises(Exception):
        client.predict(*(["digits"] + [0] * 22), api_name="/update")


def test_a_new_endpoint_is_one_typed_function_and_one_line() -> None:
    """publish() derives the inputs (names, types, defaults) and the output from the function's signature."""
    import gradio as gr

    def thumbnail(checkpoint: str, seed: int, scale: float = 2.0) -> Image.Image:
        return Image.new("L", (int(scale), int(scale)))

    with gr.Blocks() as demo:
        publish(thumbnail, "thumbnail")
    info = demo.get_api_info()["named_endpoints"]["/thumbnail"]
    assert [(p["parameter_name"], p["python_type"]["type"], p["parameter_has_default"], p["parameter_default"])
            for p in info["parameters"]] == [("checkpoint", "str", False, None), ("seed", "int", False, None),
                                             ("scale", "float", True, 2.0)]
    assert info["returns"][0]["component"] == "Image"
    with pytest.raises(ValueError, match="must have type hints"):
        with gr.Blocks():
            publish(lambda items: Image.new("L", (1, 1)), "bad")  # untyped: refused by gr.api
    with pytest.raises(TypeError, match="no API input for parameter 'items'"):

        def listed(items: list[int]) -> Image.Image:
            return Image.new("L", (len(items), 1))

        with gr.Blocks():
            publish(listed, "bad")


def test_a_data_endpoint_is_gradios_gr_api() -> None:
    """A function answering with data goes through gr.api: JSON in and out, typed from its hints."""
    import asyncio

    import gradio as gr
    from gradio.state_holder import SessionState

    def seeds_between(first: int, last: int, step: int = 1) -> list[int]:
        return list(range(first, last + 1, step))

    with gr.Blocks() as demo:
        publish(seeds_between, "seeds_between")
    info = demo.get_api_info()["named_endpoints"]["/seeds_between"]
    assert [p["parameter_name"] for p in info["parameters"]] == ["first", "last", "step"]
    fn = next(f for f in demo.fns.values() if f.api_name == "seeds_between")
    out = asyncio.run(demo.process_api(fn, [3, 9, 3], state=SessionState(demo)))
    assert out["data"] == [[3, 6, 9]]
