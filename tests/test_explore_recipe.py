"""gan_core.explore.recipe and .codec: validated fields, exact round trips (JSON, link, PNG, GIF), refusals, versions."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from gan_core.errors import ConfigError
from gan_core.explore import codec
from gan_core.explore import recipe as rc
from gan_core.explore.recipe import Recipe, RecipeError

# A recipe as the app wrote it before the explorer moved into the library (version 1): it must keep loading.
OLD_JSON = ('{"version":1,"checkpoint":"faces","weights_hash":"3f2a9c01d4e5b6a7","seed_a":11,"seed_b":4000000000,'
            '"keyframes":[5,77],"t":0.37,"mode":"lerp","easing":"ease-in-out","class_a":2,"class_b":3,"mix":0.4,'
            '"mix_follows_t":false,"psi":0.8,"directions":{"k":4,"values":[1.5,-0.25,0.0,3.0]},"frames":6,"fps":12}')


def full_recipe() -> Recipe:
    """A recipe that uses every field."""
    return Recipe(checkpoint="digits", weights_hash="0123abcd", seed_a=11, seed_b=4_000_000_000, keyframes=(5, 77),
                  t=0.37, mode="lerp", easing="ease-in-out", class_a=2, class_b=7, mix=0.4, psi=0.8,
                  directions_k=4, directions=(1.5, -0.25, 0.0, 3.0), frames=6, fps=12)


def test_old_recipe_json_still_loads_field_for_field() -> None:
    r = codec.from_json(OLD_JSON)
    assert r == Recipe(checkpoint="faces", weights_hash="3f2a9c01d4e5b6a7", seed_a=11, seed_b=4_000_000_000,
                       keyframes=(5, 77), t=0.37, mode="lerp", easing="ease-in-out", class_a=2, class_b=3,
                       mix=0.4, psi=0.8, directions_k=4, directions=(1.5, -0.25, 0.0, 3.0), frames=6, fps=12)
    assert r.to_json() == OLD_JSON  # and written back byte for byte


def test_json_link_png_and_gif_round_trips_are_exact() -> None:
    r = full_recipe()
    image = np.random.RandomState(0).randint(0, 256, (8, 8, 1)).astype(np.uint8)
    png = codec.png_bytes(image, r)
    gif = codec.gif_bytes([image, 255 - image], r)
    for back in (codec.from_json(r.to_json()), codec.from_json(r.to_json(indent=2)), codec.from_url(r.to_url()),
                 codec.from_bytes(png), codec.from_bytes(gif), codec.from_bytes(r.to_json().encode())):
        assert back == r
    assert np.array_equal(np.array(Image.open(io.BytesIO(png)))[:, :, None], image)  # lossless pixels
    assert b"iTXt" + codec.PNG_KEY.encode() in png
    assert all(c.isalnum() or c in "-_" for c in r.to_url())


def test_links_leave_out_default_values() -> None:
    short = Recipe(checkpoint="digits", seed_a=42, t=0.5)
    raw = json.loads(base64.urlsafe_b64decode(short.to_url() + "=" * (-len(short.to_url()) % 4)))
    assert raw == {"version": 1, "checkpoint": "digits", "seed_a": 42, "t": 0.5}
    assert codec.from_url(short.to_url()) == short


def test_direction_values_are_clamped_and_trailing_zeros_dropped() -> None:
    r = Recipe(checkpoint="x", directions=[9, -7.5, 0.25, 0.0, 0.0])
    assert r.directions == (5.0, -5.0, 0.25)
    assert codec.from_json(r.to_json()).directions == (5.0, -5.0, 0.25)


def test_errors_are_config_errors_and_value_errors() -> None:
    """Callers that catch the library's ConfigError and UI code that catches ValueError both see them."""
    with pytest.raises(ConfigError):
        Recipe(checkpoint="x", t=2)
    with pytest.raises(ValueError):
        Recipe(checkpoint="x", t=2)


def test_versions_newer_than_the_app_are_refused_and_older_ones_migrate(monkeypatch: pytest.MonkeyPatch) -> None:
    newer = dict(json.loads(OLD_JSON), version=rc.VERSION + 1)
    with pytest.raises(RecipeError, match="written by a newer GAN Studio"):
        codec.from_dict(newer)
    # the app at version 2, whose upgrade step from 1 renames a field (say "psi" was once
    # "truncation"): a version-1 recipe is upgraded on read
    monkeypatch.setattr(codec, "VERSION", 2)
    monkeypatch.setattr(rc, "VERSION", 2)
    monkeypatch.setitem(codec.MIGRATIONS, 1, lambda d: {**{k: v for k, v in d.items() if k != "truncation"},
                                                        "psi": d["truncation"]})
    assert codec.from_dict({"version": 1, "checkpoint": "digits", "truncation": 0.5}).psi == 0.5


def _tampered(**changes: object) -> str:
    d = Recipe(checkpoint="digits").to_dict()
    d.update(changes)
    return json.dumps(d)


@pytest.mark.parametrize("text, message", [
    (_tampered(extra=1), "unknown recipe field 'extra'"),
    (_tampered(version=2), "written by a newer GAN Studio: format 2"),
    (_tampered(version="1"), "version '1' is not a positive whole number"),
    (_tampered(version=True), "version True is not a positive whole number"),
    (_tampered(seed_a=-1), "seed_a must be between 0 and 4294967295"),
    (_tampered(seed_b=2**32), "seed_b must be between"),
    (_tampered(seed_a=1.5), "seed_a must be a whole number"),
    (_tampered(seed_a="7"), "seed_a must be a whole number"),
    (_tampered(t=1.5), "t must be between 0 and 1"),
    (_tampered(t=float("nan")), "t must be a finite number"),
    (_tampered(psi=0.0), "psi must be between 0.05 and 2"),
    (_tampered(psi=3), "psi must be between"),
    (_tampered(mode="cubic"), "mode must be one of slerp, lerp"),
    (_tampered(easing="bounce"), "easing must be one of"),
    (_tampered(class_a=[1]), "class_a must be a whole number"),
    (_tampered(checkpoint="../x"), "checkpoint: invalid name"),
    (_tampered(checkpoint="a/b"), "checkpoint: invalid name"),
    (_tampered(checkpoint=None), "checkpoint must be a name"),
    (_tampered(keyframes=list(range(17))), "keyframes: 16 seeds at most"),
    (_tampered(keyframes="1,2"), "keyframes must be a list"),
    (_tampered(directions=[1, 2]), "directions must look like"),
    (_tampered(directions={"k": 9, "values": []}), "directions.k must be between 1 and 8"),
    (_tampered(directions={"k": 2, "values": [1, 2, 3]}), "2 values at most"),
    (_tampered(directions={"k": 2, "values": ["up"]}), "direction 1 must be a number"),
    (_tampered(directions={"k": 2, "values": "12"}), "directions.values must be a list"),
    (_tampered(frames=1), "frames must be between 2 and 240"),
    (_tampered(frames=1000), "frames must be between 2 and 240"),
    (_tampered(fps=0), "fps must be between 1 and 50"),
    (_tampered(mix_follows_t="yes"), "mix_follows_t must be true or false"),
    (_tampered(weights_hash="ZZ/.."), "weights_hash must be"),
    ("[1, 2]", "must be a JSON object"),
    ('{"seed_a": 1', "not valid JSON"),
    ("{}", "names no checkpoint"),
    ("x" * 20_000, "too long"),
    ("[" * 16_000, "nested too deeply|not valid JSON"),
])
def test_invalid_recipes_are_refused_with_a_message(text: str, message: str) -> None:
    with pytest.raises(RecipeError, match=message.replace("(", r"\(").replace(".", r"\.")):
        codec.from_json(text)


def test_damaged_links_and_files_are_refused() -> None:
    code = Recipe(checkpoint="digits", seed_a=3).to_url()
    with pytest.raises(RecipeError, match="unexpected characters"):
        codec.from_url(code[:10] + "<script>")
    with pytest.raises(RecipeError, match="not valid JSON|bad base64"):
        codec.from_url(code[:-6])
    with pytest.raises(RecipeError, match="no recipe"):
        codec.from_url("")
    evil = base64.urlsafe_b64encode(b'{"checkpoint": "../../etc"}').decode().rstrip("=")
    with pytest.raises(RecipeError, match="invalid name"):
        codec.from_url(evil)
    plain_png = io.BytesIO()
    Image.new("RGB", (4, 4)).save(plain_png, "PNG")
    with pytest.raises(RecipeError, match="carries no GAN Studio recipe"):
        codec.from_bytes(plain_png.getvalue())
    with pytest.raises(RecipeError, match="could not be read"):
        codec.from_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(RecipeError, match="neither a recipe JSON nor a PNG/GIF"):
        codec.from_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(RecipeError, match="too large"):
        codec.from_bytes(b" " * (codec.MAX_FILE + 1))
    # a PNG export whose recipe was edited by hand: still checked
    image = np.zeros((4, 4, 1), np.uint8)
    bad = codec.png_bytes(image, Recipe(checkpoint="digits")).replace(b'"psi":1.0', b'"psi":9.0')
    with pytest.raises(RecipeError):  # (the edit also breaks the chunk's checksum)
        codec.from_bytes(bad)


def test_classes_are_checked_against_the_model() -> None:
    assert Recipe(checkpoint="d", class_a=9).check_model(10).class_a == 9
    with pytest.raises(RecipeError, match=r"class_b must be between 0 and 9 \(or -1\), got 10"):
        Recipe(checkpoint="d", class_b=10).check_model(10)
    with pytest.raises(RecipeError, match="unconditional"):
        Recipe(checkpoint="d", class_a=0).check_model(0)


def test_animation_recipes_run_t_from_0_to_1() -> None:
    r = full_recipe()
    frames = r.animation()
    assert [f.t for f in frames] == [i / 5 for i in range(6)] and frames[3].replace(t=r.t) == r
    assert len(r.animation(frames=3)) == 3
    with pytest.raises(RecipeError, match="frames must be between 2 and 240"):
        r.animation(frames=1)


def test_the_checkpoint_name_rule_is_the_apps() -> None:
    """One rule for names: the recipe refuses exactly the names the app's paths refuse."""
    from ui import paths

    for name in ("digits", "faces-v2.1", "a_b", "..", "a..b", "../x", "a/b", "", "-x", "x" * 65, "ü"):
        try:
            paths.check_name(name)
            app_ok = True
        except ValueError:
            app_ok = False
        try:
            rc.check_checkpoint(name)
            recipe_ok = True
        except ConfigError:
            recipe_ok = False
        assert recipe_ok == app_ok, name


