"""What the page needs to render a recipe itself, sent once when "In-browser rendering" is switched on
(and again when another model or recipe is applied), never per frame:

- the exported model (its manifest and URL under /gs-browser/model/<weights hash>/), made on first use;
- the model's latent directions for the recipe's k (float32, base64): the page cannot recompute them;
- reference images the server rendered for a few recipes near the current one (uint8, base64), so the
  page measures and states the largest pixel difference between its renders and the server's.

Seeded z is not sent: latent.js computes it bit for bit. Problems (runtime not installed, a model that
cannot be exported) come back as {"on": false, "error": <a sentence>} and the page stays on the
server's renders.
"""

from __future__ import annotations

import base64
from typing import Any, Mapping

import numpy as np

from gan_core.errors import GanStudioError
from gan_core.explore import Recipe

from ..recipe import CONTROLS

from . import assets

REFERENCE_TS = (0.0, 0.37, 1.0)  # t of the reference renders, besides the current recipe


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def recipe_fields(r: Recipe) -> dict[str, Any]:
    """A recipe as latent.js's recipeInputs reads it."""
    return {"seed_a": r.seed_a, "seed_b": r.seed_b, "keyframes": list(r.keyframes), "t": r.t, "mode": r.mode,
            "easing": r.easing, "class_a": r.class_a, "class_b": r.class_b, "mix": r.mix,
            "mix_follows_t": r.mix_follows_t, "psi": r.psi, "directions_k": r.directions_k,
            "directions": list(r.directions)}


def off(error: str | None = None) -> dict[str, Any]:
    return {"on": False, "error": error}


def build(logic: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """The payload for the controls' current values ("browser_on" and every recipe control)."""
    if not values.get("browser_on"):
        return off()
    problem = assets.runtime_problem()
    if problem:
        return off(problem)
    from gan_core.onnx_export import cached_export

    try:
        r, svc = logic.recipe(values)
    except (ValueError, GanStudioError) as e:
        return off(f"In-browser rendering is waiting for a valid recipe: {e}")
    try:
        folder, m = cached_export(svc.path, assets.cache_root())
    except (GanStudioError, OSError) as e:
        return off(f"This checkpoint cannot be rendered in the browser ({e}): rendering on the server instead.")
    refs = [r.replace(t=t) for t in REFERENCE_TS if t != r.t] + [r]
    images = svc.render_recipes(refs, batch=1)  # (N, H, W, C) uint8, each exactly as the panel shows it
    d = svc.directions(r.directions_k)
    return {
        "on": True,
        "values": {name: values[name] for name in CONTROLS},
        "model": {"url": f"{assets.PREFIX}/model/{folder.name}/", "file": m.files.get("fp16", m.files["fp32"]),
                  "precision": "fp16" if "fp16" in m.files else "fp32", "checkpoint": svc.name,
                  "weights_hash": m.weights_hash, "nz": m.nz, "num_classes": m.num_classes,
                  "channels": m.channels, "image_size": m.image_size, "bytes": m.sizes},
        "runtime": f"{assets.PREFIX}/ort/",
        "directions": {"k": r.directions_k, "nz": m.nz, "vectors": b64(d.vectors.astype(np.float32))},
        "references": [{"recipe": recipe_fields(x), "pixels": b64(im), "shape": list(im.shape)}
                       for x, im in zip(refs, images)],
    }
