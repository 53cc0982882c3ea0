"""The recipe: exact endpoints, bit-for-bit round trips (JSON, URL, PNG, GIF, another process), refusals."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gan_core.render import RenderService
from panel_support import make_checkpoints
from ui import recipe as rc

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_checkpoints(tmp_path_factory.mktemp("ckpts"))


@pytest.fixture(scope="module")
def digits(ckpts: Path) -> RenderService:
    return RenderService(ckpts / "digits", threads=0, name="digits")


@pytest.fixture(scope="module")
def plain(ckpts: Path) -> RenderService:
    return RenderService(ckpts / "plain", threads=0, name="plain")


def full_recipe(svc: RenderService) -> rc.Recipe:
    """A recipe that uses every feature at once."""
    return rc.Recipe(checkpoint=svc.name, weights_hash=svc.weights_hash, seed_a=11, seed_b=4_000_000_000,
                     keyframes=(5, 77), t=0.37, mode="lerp", easing="ease-in-out", class_a=2, class_b=7,
                     mix=0.4, psi=0.8, directions_k=4, directions=(1.5, -0.25, 0.0, 3.0), frames=6, fps=12)


@pytest.mark.parametrize("mode", ["slerp", "lerp"])
@pytest.mark.parametrize("easing", ["linear", "cubic"])
def test_path_ends_are_exactly_the_seed_renders(digits: RenderService, plain: RenderService,
                                               mode: str, easing: str) -> None:
    r = rc.Recipe(checkpoint="digits", seed_a=3, seed_b=8, mode=mode, easing=easing, class_a=4, class_b=4,
                  psi=0.7)
    assert np.array_equal(rc.render(r, digits), digits.render(3, 4, 0.7))
    assert np.array_equal(rc.render(r.replace(t=1.0), digits), digits.render(8, 4, 0.7))
    # class -1: the class of a conditional model comes from the seed, as in RenderService.render
    r = r.replace(class_a=-1, class_b=-1, psi=1.0)
    assert np.array_equal(rc.render(r, digits), digits.render(3))
    assert np.array_equal(rc.render(r.replace(t=1.0), digits), digits.render(8))
    u = rc.Recipe(checkpoint="plain", seed_a=3, seed_b=8, mode=mode, easing=easing)
    assert np.array_equal(rc.render(u, plain), plain.render(3))
    assert np.array_equal(rc.render(u.replace(t=1.0), plain), plain.render(8))
    assert not np.array_equal(rc.render(u.replace(t=0.5), plain), plain.render(3))


def test_keyframes_pass_through_every_seed(plain: RenderService) -> None:
    r = rc.Recipe(checkpoint="plain", seed_a=1, seed_b=2, keyframes=(3, 4), easing="ease-in")
    for k, seed in enumerate((1, 2, 3, 4)):
        assert np.array_equal(rc.render(r.replace(t=k / 3), plain), plain.render(seed)), seed
    assert rc.latent(r.replace(t=0.5), plain).z.tolist() != rc.latent(r.replace(t=0.4), plain).z.tolist()


def test_class_blend_and_mix_following_t(digits: RenderService) -> None:
    r = rc.Recipe(checkpoint="digits", seed_a=5, seed_b=6, class_a=2, class_b=7)
    assert np.array_equal(rc.render(r.replace(mix=1.0), digits), digits.render(5, 7))
    halfway = rc.render(r.replace(mix=0.5), digits)
    assert not np.array_equal(halfway, digits.render(5, 2)) and not np.array_equal(halfway, digits.render(5, 7))
    follow = r.replace(mix_follows_t=True, mix=0.9)  # mix is ignored when it follows t
    assert np.array_equal(rc.render(follow, digits), digits.render(5, 2))
    assert np.array_equal(rc.render(follow.replace(t=1.0), digits), digits.render(6, 7))


def test_round_trip_is_bit_for_bit(digits: RenderService) -> None:
    r = full_recipe(digits)
    image = rc.render(r, digits)
    via_json = rc.from_json(r.to_json())
    via_pretty = rc.from_json(r.to_json(indent=2))
    via_url = rc.from_url(r.to_url())
    png = rc.png_bytes(image, r)
    via_png = rc.from_bytes(png)
    frames = [rc.render(x, digits) for x in rc.animation_recipes(r)]
    via_gif = rc.from_bytes(rc.gif_bytes(frames, r))
    for back in (via_json, via_pretty, via_url, via_png, via_gif):
        assert back == r
        assert np.array_equal(rc.render(back, digits), image)
    # the PNG stores the pixels losslessly, and its metadata is an iTXt chunk with the JSON
    assert np.array_equal(np.array(Image.open(io.BytesIO(png)))[:, :, None], image)
    assert b"iTXt" + rc.PNG_KEY.encode() in png
    assert all(c.isalnum() or c in "-_" for c in r.to_url())


def test_recipe_reproduces_in_another_process(digits: RenderService, ckpts: Path) -> None:
    """Direction values depend on the discovered directions: they must not depend on torch's RNG state."""
    r = full_recipe(digits)
    here = hashlib.sha256(rc.render(r, digits).tobytes()).hexdigest()
    code = (
        "import sys, hashlib, torch\n"
        "torch.manual_seed(12345); torch.rand(100)\n"
        "from gan_core.render import RenderService\n"
        "from ui import recipe as rc\n"
        "svc = RenderService(sys.argv[1], threads=1, name='digits')\n"
        "r = rc.from_url(sys.argv[2])\n"
        "print(hashlib.sha256(rc.render(r, svc).tobytes()).hexdigest())\n")
    out = subprocess.run([sys.executable, "-c", code, str(ckpts / "digits"), r.to_url()], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == here


def test_direction_values_are_clamped_and_trailing_zeros_dropped() -> None:
    r = rc.Recipe(checkpoint="x", directions=[9, -7.5, 0.25, 0.0, 0.0])
    assert r.directions == (5.0, -5.0, 0.25)
    assert rc.from_json(r.to_json()).directions == (5.0, -5.0, 0.25)


def _tampered(**changes: object) -> str:
    d = rc.Recipe(checkpoint="digits").to_dict()
    d.update(changes)
    return json.dumps(d)


@pytest.mark.parametrize("text, message", [
    (_tampered(extra=1), "unknown recipe field 'extra'"),
    (_tampered(version=2), "version 2 is not supported"),
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
    with pytest.raises(rc.RecipeError, match=message.replace("(", r"\(").replace(".", r"\.")):
        rc.from_json(text)


def test_damaged_links_and_files_are_refused(digits: RenderService) -> None:
    code = rc.Recipe(checkpoint="digits", seed_a=3).to_url()
    with pytest.raises(rc.RecipeError, match="unexpected characters"):
        rc.from_url(code[:10] + "<script>")
    with pytest.raises(rc.RecipeError, match="not valid JSON|bad base64"):
        rc.from_url(code[:-6])
    with pytest.raises(rc.RecipeError, match="no recipe"):
        rc.from_url("")
    evil = base64.urlsafe_b64encode(b'{"checkpoint": "../../etc"}').decode().rstrip("=")
    with pytest.raises(rc.RecipeError, match="invalid name"):
        rc.from_url(evil)
    plain_png = io.BytesIO()
    Image.new("RGB", (4, 4)).save(plain_png, "PNG")
    with pytest.raises(rc.RecipeError, match="carries no GAN Studio recipe"):
        rc.from_bytes(plain_png.getvalue())
    with pytest.raises(rc.RecipeError, match="could not be read"):
        rc.from_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(rc.RecipeError, match="neither a recipe JSON nor a PNG/GIF"):
        rc.from_bytes(b"\xff\xfe\x00binary")
    # a PNG export whose recipe was edited by hand: still checked
    bad = rc.png_bytes(digits.render(1), rc.Recipe(checkpoint="digits")).replace(b'"psi":1.0', b'"psi":9.0')
    with pytest.raises(rc.RecipeError):
        rc.from_bytes(bad)


def test_classes_are_checked_against_the_model(digits: RenderService, plain: RenderService) -> None:
    with pytest.raises(rc.RecipeError, match=r"class_b must be between 0 and 9 \(or -1\), got 10"):
        rc.render(rc.Recipe(checkpoint="digits", class_b=10), digits)
    with pytest.raises(rc.RecipeError, match="unconditional"):
        rc.render(rc.Recipe(checkpoint="plain", class_a=0), plain)
    with pytest.raises(rc.RecipeError, match="frames must be between 2 and 240"):
        rc.animation_recipes(rc.Recipe(checkpoint="digits"), frames=1)


def test_links_leave_out_default_values() -> None:
    short = rc.Recipe(checkpoint="digits", seed_a=42, t=0.5)
    raw = json.loads(base64.urlsafe_b64decode(short.to_url() + "=" * (-len(short.to_url()) % 4)))
    assert raw == {"version": 1, "checkpoint": "digits", "seed_a": 42, "t": 0.5}
    assert rc.from_url(short.to_url()) == short
