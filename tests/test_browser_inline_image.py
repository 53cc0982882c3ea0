"""The panel's image travels inline (issue 20 item 6): a data: URL of the PNG, recipe chunk included."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
from PIL import Image

from gan_core.explore import PNG_KEY, Recipe, from_bytes


def test_a_pil_image_becomes_a_png_data_url_with_its_recipe() -> None:
    import gradio as gr

    from ui.panel import inline_png
    from ui.panel_logic import PanelLogic

    r = Recipe(checkpoint="digits", seed_a=5, t=0.25)
    pixels = (np.arange(32 * 32 * 3) % 251).astype(np.uint8).reshape(32, 32, 3)
    im = PanelLogic.pil(pixels, r)
    out = inline_png(gr.Image(type="pil", format="png")).postprocess(im)
    assert out.path is None and out.url.startswith("data:image/png;base64,") and out.orig_name == "image.png"
    png = base64.b64decode(out.url.split(",", 1)[1])
    assert np.array_equal(np.array(Image.open(io.BytesIO(png))), pixels)
    assert from_bytes(png) == r  # the download still carries the recipe
    assert Image.open(io.BytesIO(png)).text[PNG_KEY] == r.to_json()


def test_other_values_keep_gradios_handling_and_no_stub_is_written() -> None:
    import gradio as gr

    import ui.panel
    from ui.panel import inline_png

    assert inline_png(gr.Image(type="pil", format="png")).postprocess(None) is None
    # Gradio writes a .pyi beside any module defining a component subclass: the panel defines none
    assert not Path(ui.panel.__file__).with_suffix(".pyi").exists()
