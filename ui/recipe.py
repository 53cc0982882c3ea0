"""The panel's recipe controls, by name, and the two ways across: control values -> Recipe -> control values.

The recipe itself (fields, checks, JSON/link/PNG/GIF codecs, recipe -> latent) lives in
`gan_core.explore`; this module only knows how the panel shows it: one control per name in
CONTROLS (keyframes as text, directions as sliders d0..d7, classes as dropdown values that may
arrive as typed text).
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from gan_core.explore import MAX_DIRECTIONS, MAX_KEYFRAMES, Recipe, RecipeError, check_seed
from gan_core.latent import MAX_SEED

DIRECTION_CONTROLS: tuple[str, ...] = tuple(f"d{i}" for i in range(MAX_DIRECTIONS))
# every control that holds part of the recipe; handlers read them by these names
CONTROLS: tuple[str, ...] = (
    "checkpoint", "seed_a", "seed_b", "keyframes", "t", "mode", "easing", "class_a", "class_b",
    "mix", "mix_follows_t", "psi", "frames", "fps", "directions_k", *DIRECTION_CONTROLS,
)


def parse_keyframes(text: Any) -> tuple[int, ...]:
    """'17, 256 9' -> (17, 256, 9); seeds after A and B."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return ()
    parts = list(text) if isinstance(text, (list, tuple)) else \
        [p for p in re.split(r"[\s,;]+", str(text).strip()) if p]
    if len(parts) > MAX_KEYFRAMES:
        raise RecipeError(f"keyframes: at most {MAX_KEYFRAMES} seeds after A and B")
    out = []
    for p in parts:
        try:
            out.append(check_seed("keyframe", int(p)))
        except (TypeError, ValueError):
            raise RecipeError(f"keyframes: {str(p)[:20]!r} is not a seed (whole numbers "
                              f"0..{MAX_SEED}, separated by commas)") from None
    return tuple(out)


def class_value(v: Any) -> Any:
    """A class control's value: None/'' -> -1, digit strings (typed into the dropdown) -> int."""
    if v is None or v == "":
        return -1
    if isinstance(v, str) and re.fullmatch(r"-?\d{1,7}", v.strip()):
        return int(v)
    return v


def from_controls(values: Mapping[str, Any], weights_hash: str = "") -> Recipe:
    """Control values by name -> a validated Recipe (RecipeError names the bad field)."""
    missing = [k for k in CONTROLS if k not in values]
    if missing:
        raise ValueError(f"missing control values: {', '.join(missing)}")
    v = values
    k = v["directions_k"] or MAX_DIRECTIONS
    return Recipe(
        checkpoint=v["checkpoint"], weights_hash=weights_hash, seed_a=v["seed_a"], seed_b=v["seed_b"],
        keyframes=parse_keyframes(v["keyframes"]), t=v["t"], mode=v["mode"], easing=v["easing"],
        class_a=class_value(v["class_a"]), class_b=class_value(v["class_b"]), mix=v["mix"],
        mix_follows_t=bool(v["mix_follows_t"]), psi=v["psi"], frames=v["frames"], fps=v["fps"],
        directions_k=k,
        directions=[v[name] or 0.0 for name in DIRECTION_CONTROLS[:min(int(k), MAX_DIRECTIONS)]],
    )


def to_controls(r: Recipe) -> dict[str, Any]:
    """A Recipe -> the value of every control by name (the inverse of `from_controls`)."""
    dirs = list(r.directions) + [0.0] * MAX_DIRECTIONS
    return {
        "checkpoint": r.checkpoint, "seed_a": r.seed_a, "seed_b": r.seed_b,
        "keyframes": ", ".join(map(str, r.keyframes)), "t": r.t, "mode": r.mode, "easing": r.easing,
        "class_a": r.class_a, "class_b": r.class_b, "mix": r.mix, "mix_follows_t": r.mix_follows_t,
        "psi": r.psi, "frames": r.frames, "fps": r.fps, "directions_k": r.directions_k,
        **{name: dirs[i] for i, name in enumerate(DIRECTION_CONTROLS)},
    }


def defaults() -> dict[str, Any]:
    """The controls' values before a page's load event fills them (a default recipe's)."""
    d = to_controls(Recipe(checkpoint="default"))
    d["checkpoint"] = None
    return d
