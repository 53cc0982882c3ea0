"""gan_core.explore.inputs (recipe -> z and class) and its pixels through RenderService.render_recipe: exact
path ends, keyframes, class rule and blends, reproduction in another process (batches: tests/test_render.py)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gan_core.explore import Recipe, RecipeError, recipe_inputs
from gan_core.latent import interpolate, seed_class, truncate, walk_position, z_from_seed
from gan_core.render import RenderService
from panel_support import make_checkpoints

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_checkpoints(tmp_path_factory.mktemp("ckpts"), ("digits", "plain"))


@pytest.fixture(scope="module")
def digits(ckpts: Path) -> RenderService:
    return RenderService(ckpts / "digits", threads=0, name="digits")


@pytest.fixture(scope="module")
def plain(ckpts: Path) -> RenderService:
    return RenderService(ckpts / "plain", threads=0, name="plain")


def full_recipe(svc: RenderService) -> Recipe:
    """A recipe that uses every feature at once."""
    return Recipe(checkpoint=svc.name, weights_hash=svc.weights_hash, seed_a=11, seed_b=4_000_000_000,
                  keyframes=(5, 77), t=0.37, mode="lerp", easing="ease-in-out", class_a=2, class_b=7,
                  mix=0.4, psi=0.8, directions_k=4, directions=(1.5, -0.25, 0.0, 3.0), frames=6, fps=12)


def test_inputs_follow_the_documented_steps() -> None:
    """Path position, eased leg, interpolation, truncation: each step as the module docstring states it."""
    r = Recipe(checkpoint="m", seed_a=3, seed_b=8, keyframes=(21,), t=0.7, mode="slerp", easing="ease-in", psi=0.6)
    got = recipe_inputs(r, nz=16, num_classes=0)
    i, j, u = walk_position(3, 0.7, "ease-in")
    assert (i, j) == (1, 2) and u == pytest.approx(0.4 ** 2)  # x = 1.4: leg 8 -> 21, eased 0.4
    want = truncate(interpolate(z_from_seed(8, 16), z_from_seed(21, 16), u, "slerp"), 0.6)
    assert np.array_equal(got.z, want) and got.label is None and got.blend is None


def test_class_rule_and_blends_without_a_model() -> None:
    k = 10
    both_from_seeds = Recipe(checkpoint="m", seed_a=13, seed_b=24)
    assert recipe_inputs(both_from_seeds, 4, k).label == seed_class(13, k) == 3
    assert recipe_inputs(both_from_seeds.replace(t=1.0), 4, k).label == 4
    assert recipe_inputs(both_from_seeds.replace(t=0.5), 4, k).blend == (3, 4, 0.5)  # travels with the seeds
    chosen = Recipe(checkpoint="m", seed_a=13, seed_b=24, class_a=7, class_b=-1, mix=0.25)
    assert recipe_inputs(chosen, 4, k).blend == (7, seed_class(24, k), 0.25)  # a lone -1 is its seed's class
    assert recipe_inputs(chosen.replace(mix=1.0), 4, k).label == 4
    assert recipe_inputs(chosen.replace(class_b=7), 4, k).label == 7  # a class blended with itself
    follows = chosen.replace(mix_follows_t=True, t=0.6, easing="cubic")
    assert recipe_inputs(follows, 4, k).blend == (7, 4, 0.6)  # the raw t, not the eased one
    with pytest.raises(RecipeError, match="class_a must be between 0 and 4"):
        recipe_inputs(chosen, 4, 5)
    with pytest.raises(ValueError, match="give the model's directions"):
        recipe_inputs(Recipe(checkpoint="m", directions=(1.0,)), 4, 0)


def test_the_class_rule_has_one_home(digits: RenderService, monkeypatch: pytest.MonkeyPatch) -> None:
    """RenderService.render, render_seeds and recipes all ask latent.seed_class which class a seed gets."""
    import gan_core.explore.inputs
    import gan_core.render

    def shifted(seed: int, k: int) -> int:
        return (seed + 1) % k

    monkeypatch.setattr(gan_core.render, "seed_class", shifted)
    monkeypatch.setattr(gan_core.explore.inputs, "seed_class", shifted)
    assert np.array_equal(digits.render(5), digits.render(5, 6))
    assert np.array_equal(digits.render_seeds([5])[0], digits.render_seeds([5], [6])[0])
    assert digits.inputs(Recipe(checkpoint="digits", seed_a=5)).label == 6


@pytest.mark.parametrize("mode", ["slerp", "lerp"])
@pytest.mark.parametrize("easing", ["linear", "cubic"])
def test_path_ends_are_exactly_the_seed_renders(digits: RenderService, plain: RenderService,
                                               mode: str, easing: str) -> None:
    r = Recipe(checkpoint="digits", seed_a=3, seed_b=8, mode=mode, easing=easing, class_a=4, class_b=4, psi=0.7)
    assert np.array_equal(digits.render_recipe(r), digits.render(3, 4, 0.7))
    assert np.array_equal(digits.render_recipe(r.replace(t=1.0)), digits.render(8, 4, 0.7))
    # class -1: the class of a conditional model comes from the seed, as in RenderService.render
    r = r.replace(class_a=-1, class_b=-1, psi=1.0)
    assert np.array_equal(digits.render_recipe(r), digits.render(3))
    assert np.array_equal(digits.render_recipe(r.replace(t=1.0)), digits.render(8))
    u = Recipe(checkpoint="plain", seed_a=3, seed_b=8, mode=mode, easing=easing)
    assert np.array_equal(plain.render_recipe(u), plain.render(3))
    assert np.array_equal(plain.render_recipe(u.replace(t=1.0)), plain.render(8))
    assert not np.array_equal(plain.render_recipe(u.replace(t=0.5)), plain.render(3))


def test_keyframes_pass_through_every_seed(plain: RenderService) -> None:
    r = Recipe(checkpoint="plain", seed_a=1, seed_b=2, keyframes=(3, 4), easing="ease-in")
    for k, seed in enumerate((1, 2, 3, 4)):
        assert np.array_equal(plain.render_recipe(r.replace(t=k / 3)), plain.render(seed)), seed
    assert plain.inputs(r.replace(t=0.5)).z.tolist() != plain.inputs(r.replace(t=0.4)).z.tolist()


def test_class_blend_and_mix_following_t(digits: RenderService) -> None:
    r = Recipe(checkpoint="digits", seed_a=5, seed_b=6, class_a=2, class_b=7)
    assert np.array_equal(digits.render_recipe(r.replace(mix=1.0)), digits.render(5, 7))
    halfway = digits.render_recipe(r.replace(mix=0.5))
    assert not np.array_equal(halfway, digits.render(5, 2)) and not np.array_equal(halfway, digits.render(5, 7))
    follow = r.replace(mix_follows_t=True, mix=0.9)  # mix is ignored when it follows t
    assert np.array_equal(digits.render_recipe(follow), digits.render(5, 2))
    assert np.array_equal(digits.render_recipe(follow.replace(t=1.0)), digits.render(6, 7))


def test_recipe_reproduces_in_another_process(digits: RenderService, ckpts: Path) -> None:
    """Direction values depend on the discovered directions: they must not depend on torch's RNG state."""
    r = full_recipe(digits)
    here = hashlib.sha256(digits.render_recipe(r).tobytes()).hexdigest()
    code = (
        "import sys, hashlib, torch\n"
        "torch.manual_seed(12345); torch.rand(100)\n"
        "from gan_core.render import RenderService\n"
        "from gan_core.explore import from_url\n"
        "svc = RenderService(sys.argv[1], threads=1, name='digits')\n"
        "print(hashlib.sha256(svc.render_recipe(from_url(sys.argv[2])).tobytes()).hexdigest())\n")
    out = subprocess.run([sys.executable, "-c", code, str(ckpts / "digits"), r.to_url()], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == here


def test_no_ui_module_does_latent_maths() -> None:
    """The explorer's model lives in the library: ui/ never builds latents or picks classes itself."""
    import ast
    import re

    maths = {"z_from_seed", "z_batch", "interpolate", "lerp", "slerp", "truncate", "walk", "walk_position",
             "ease", "blend_embeddings", "seed_class", "recipe_inputs"}
    for path in sorted((ROOT / "ui").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom):
                assert not maths & {a.name for a in node.names}, f"{path.name} imports latent maths"
        assert not re.search(r"%\s*(self\.)?(svc\.)?(cfg\.)?num_classes", text), f"{path.name} restates the class rule"
