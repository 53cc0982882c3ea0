"""ui/recipe.py: the panel's controls by name <-> a Recipe (keyframes as text, classes typed, directions as sliders)."""

from __future__ import annotations

from typing import Any

import pytest

from gan_core.explore import MAX_DIRECTIONS, Recipe, RecipeError
from ui import recipe as ur


def controls(**changes: Any) -> dict[str, Any]:
    d = ur.to_controls(Recipe(checkpoint="digits"))
    d.update(changes)
    return d


def test_every_recipe_field_the_panel_shows_has_one_named_control() -> None:
    assert len(set(ur.CONTROLS)) == len(ur.CONTROLS)
    assert ur.DIRECTION_CONTROLS == tuple(f"d{i}" for i in range(MAX_DIRECTIONS))
    assert set(ur.to_controls(Recipe(checkpoint="x"))) == set(ur.CONTROLS)
    assert set(ur.defaults()) == set(ur.CONTROLS) and ur.defaults()["checkpoint"] is None


def test_controls_to_recipe_and_back_is_the_identity() -> None:
    r = Recipe(checkpoint="faces", weights_hash="ab12", seed_a=11, seed_b=4_000_000_000, keyframes=(5, 77), t=0.37,
               mode="lerp", easing="ease-in-out", class_a=2, class_b=3, mix=0.4, mix_follows_t=True, psi=0.8,
               directions_k=4, directions=(1.5, -0.25, 0.0, 3.0), frames=6, fps=12)
    v = ur.to_controls(r)
    assert v["keyframes"] == "5, 77" and v["d3"] == 3.0 and v["d4"] == 0.0
    assert ur.from_controls(v, "ab12") == r


def test_text_and_typed_values_are_read_as_the_panel_sends_them() -> None:
    r = ur.from_controls(controls(keyframes="12  40;7", class_a="3", class_b=None, d1=12.0, d0=None))
    assert r.keyframes == (12, 40, 7) and r.class_a == 3 and r.class_b == -1
    assert r.directions == (0.0, 5.0)  # a slider past the range is clamped; an empty one is 0
    assert ur.from_controls(controls(directions_k=2, d5=1.0)).directions == ()  # sliders past k are ignored
    assert ur.parse_keyframes(["4", 5]) == (4, 5) and ur.parse_keyframes(" ") == ()


@pytest.mark.parametrize("changes, message", [
    ({"keyframes": "3, x"}, "'x' is not a seed"),
    ({"keyframes": "3, -1"}, "'-1' is not a seed"),
    ({"keyframes": ", ".join(["1"] * 17)}, "at most 16 seeds"),
    ({"class_a": "three"}, "class_a must be a whole number"),
    ({"seed_a": -5}, "seed_a must be between 0 and"),
    ({"checkpoint": "../x"}, "invalid name"),
])
def test_bad_control_values_name_the_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(RecipeError, match=message):
        ur.from_controls(controls(**changes))


def test_a_missing_control_is_a_wiring_error() -> None:
    v = controls()
    del v["psi"]
    with pytest.raises(ValueError, match="missing control values: psi"):
        ur.from_controls(v)
