"""ui/panel_wiring.py: events read components by name and write {name: update}, through Gradio's own event processing."""

from __future__ import annotations

import asyncio
import base64
import io
from typing import Any

import gradio as gr
import pytest
from gradio.events import EventData
from gradio.state_holder import SessionState

from ui.panel_wiring import Wiring


def run(demo: gr.Blocks, index: int, inputs: list[Any], **kwargs: Any) -> list[Any]:
    fn = list(demo.fns.values())[index]
    return asyncio.run(demo.process_api(fn, inputs, state=SessionState(demo), **kwargs))["data"]


@pytest.fixture
def wired() -> tuple[gr.Blocks, Wiring]:
    w = Wiring()
    with gr.Blocks() as demo:
        w["a"], w["b"] = gr.Number(value=1), gr.Number(value=2)
        w["out"], w["other"], w["g"] = gr.Textbox(), gr.Textbox(), gr.Gallery()
        w.on(w["a"].input, lambda v: {"out": f"a={v['a']} b={v['b']}"}, ["b", "a"], ["out", "other"])
        w.on_request(demo.load, lambda request: {"out": type(request).__name__}, ["out"])
        w.on_select(w["g"].select, lambda v, evt: {"other": f"picked {evt.index} b={v['b']}"}, ["b"], ["other"])
        w.on(w["b"].input, lambda v: {"nowhere": 1}, ["b"], ["out"])
    return demo, w


def test_values_arrive_by_name_and_unwritten_outputs_keep_their_values(wired: tuple[gr.Blocks, Wiring]) -> None:
    demo, _ = wired
    out = run(demo, 0, [3, 4])  # in the order of `reads`: b, then a
    assert out[0] == "a=4 b=3" and out[1] == {"__type__": "update"}  # "other" was not written: unchanged


def test_request_and_selection_reach_their_handlers(wired: tuple[gr.Blocks, Wiring]) -> None:
    demo, w = wired
    assert run(demo, 1, [], request=gr.Request()) == ["Request"]
    assert run(demo, 2, [5], event_data=EventData(w["g"], {"index": 3, "value": None})) == ["picked 3 b=5"]


def test_wiring_mistakes_are_caught(wired: tuple[gr.Blocks, Wiring]) -> None:
    demo, w = wired
    with pytest.raises(Exception, match=r"handler wrote \['nowhere'\], not among its outputs \['out'\]"):
        run(demo, 3, [1])
    with pytest.raises(ValueError, match="two components are named 'a'"):
        with gr.Blocks():
            w["a"] = gr.Number()


def test_the_panels_load_and_slider_events_run_end_to_end(tmp_path_factory: pytest.TempPathFactory,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The real panel, without a browser: page load fills every control by name, then a slider renders."""
    import numpy as np
    from PIL import Image

    from gan_core.explore import Recipe
    from panel_support import make_checkpoints, use_catalogue
    from ui.panel import build_panel
    from ui.services import RenderHub

    use_catalogue(monkeypatch, make_checkpoints(tmp_path_factory.mktemp("ck"), ("digits",)), tmp_path_factory.mktemp("h"))
    hub = RenderHub(threads=0)
    demo = build_panel(hub)
    fns = {f.name: f for f in demo.fns.values()}
    state = SessionState(demo)
    request = gr.Request()
    request.query_params = {"recipe": Recipe(checkpoint="digits", seed_a=7, t=0.5).to_url()}  # type: ignore[misc]
    loaded = asyncio.run(demo.process_api(fns["on_load"], [], state=state, request=request))["data"]
    by_id = dict(zip([c._id for c in fns["on_load"].outputs], loaded))
    update = fns["update"]
    assert {c._id for c in update.inputs} <= set(by_id)  # loading set every control; now move t as a browser would
    inputs = []
    for comp in update.inputs:
        value = by_id[comp._id]
        value = value.get("value") if isinstance(value, dict) else value
        inputs.append(0.25 if getattr(comp, "elem_id", None) == "gs-t" else value)
    out = asyncio.run(demo.process_api(update, inputs, state=state))["data"]
    image = out[0]  # an inline PNG (data: URL) since the sliders skip the file round trip
    shown = np.array(Image.open(io.BytesIO(base64.b64decode(image["url"].split(",", 1)[1]))
                                if image.get("url", "").startswith("data:") else image["path"]))
    want = hub.get("digits").render_recipe(Recipe(checkpoint="digits", seed_a=7, t=0.25))
    assert np.array_equal(shown, want[:, :, 0])
