"""ui/browser/latent.js, run in node, against the Python latent maths it ports (gan_core.latent, explore.inputs)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from gan_core.explore import Recipe, recipe_inputs
from gan_core.images import to_uint8
from gan_core.latent import EASINGS, Directions, ease, walk_position, z_from_seed

NODE = shutil.which("node")
LATENT_JS = Path(__file__).resolve().parents[1] / "ui" / "browser" / "latent.js"
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

# reads {"fn": name, "cases": [...]} on stdin, writes the results as JSON (typed arrays as lists)
DRIVER = """
const L = require(process.argv[1]);
const job = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const plain = (x) => (x instanceof Float32Array || x instanceof Uint8ClampedArray) ? Array.from(x) : x;
const out = job.cases.map((c) => {
  try {
    switch (job.fn) {
      case 'z': return plain(L.zFromSeed(c.seed, c.nz));
      case 'ease': return L.ease(c.t, c.kind);
      case 'walk': return L.walkPosition(c.n, c.u, c.easing);
      case 'inputs': {
        const dirs = c.directions ? c.directions.map((v) => Float32Array.from(v)) : null;
        const r = L.recipeInputs(c.recipe, c.nz, c.k, dirs);
        return {z: plain(r.z), w: r.classWeights && plain(r.classWeights), label: r.label, blend: r.blend};
      }
      case 'uint8': return plain(L.toUint8(Float32Array.from(c.x), c.c, c.h, c.w));
      case 'uint8_into': {  // the same buffer written twice (a frame's reused ImageData)
        const buf = new Uint8ClampedArray(c.h * c.w * 4).fill(7);
        L.toUint8(Float32Array.from(c.x.map((v) => -v)), c.c, c.h, c.w, buf);
        const got = L.toUint8(Float32Array.from(c.x), c.c, c.h, c.w, buf);
        return {same: got === buf, pixels: plain(got)};
      }
      case 'z_changed': {  // a caller changes the z it got: the next call for that seed is not affected
        L.zFromSeed(c.seed, c.nz).fill(0);
        return plain(L.zFromSeed(c.seed, c.nz));
      }
    }
  } catch (e) { return {error: String(e.message)}; }
});
process.stdout.write(JSON.stringify(out));
"""


def run_js(fn: str, cases: list) -> list:
    proc = subprocess.run([NODE, "-e", DRIVER, str(LATENT_JS)], input=json.dumps({"fn": fn, "cases": cases}),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_seeded_z_is_numpys_to_the_last_bit() -> None:
    """The browser computes z(seed) itself: MT19937 + the legacy polar Gaussian, as NumPy."""
    rng = random.Random(5)
    seeds = [0, 1, 42, 2**31, 2**32 - 1] + [rng.randrange(2**32) for _ in range(40)]
    cases = [{"seed": s, "nz": nz} for s in seeds for nz in (7, 100)]
    got = run_js("z", cases)
    for c, z in zip(cases, got):
        ref = z_from_seed(c["seed"], c["nz"])
        assert np.array_equal(np.asarray(z, np.float32), ref), c


def test_a_bad_seed_is_refused() -> None:
    got = run_js("z", [{"seed": -1, "nz": 4}, {"seed": 2**32, "nz": 4}, {"seed": 1.5, "nz": 4}])
    assert all("seed must be between" in r["error"] for r in got)


def test_easings_and_walk_positions_match() -> None:
    ts = [-0.5, 0.0, 0.1, 0.25, 0.5, 0.5000001, 0.73, 0.999, 1.0, 1.7]
    cases = [{"t": t, "kind": k} for k in EASINGS for t in ts]
    for c, v in zip(cases, run_js("ease", cases)):
        assert v == pytest.approx(ease(c["t"], c["kind"]), abs=1e-15), c
    walks = [{"n": n, "u": u, "easing": e} for n in (1, 2, 3, 7) for u in ts for e in ("linear", "cubic")]
    for c, (i, j, t) in zip(walks, run_js("walk", walks)):
        ri, rj, rt = walk_position(c["n"], c["u"], c["easing"])
        assert (i, j) == (ri, rj) and t == pytest.approx(rt, abs=1e-15), c
    assert "easing must be one of" in run_js("ease", [{"t": 0.5, "kind": "bounce"}])[0]["error"]


def _recipes(k: int, n: int) -> list[Recipe]:
    rng = random.Random(11)
    out = [Recipe(checkpoint="m", seed_a=3, seed_b=4, t=0.0), Recipe(checkpoint="m", seed_a=3, seed_b=4, t=1.0)]
    for i in range(n):
        out.append(Recipe(
            checkpoint="m", seed_a=rng.randrange(2**32), seed_b=rng.randrange(2**32),
            keyframes=tuple(rng.randrange(10**6) for _ in range(rng.choice([0, 0, 1, 3]))),
            t=rng.choice([0.0, 1.0, 0.5, round(rng.random(), 3)]), mode=rng.choice(["slerp", "lerp"]),
            easing=rng.choice(EASINGS), class_a=rng.choice([-1, -1, 0, k - 1]) if k else -1,
            class_b=rng.choice([-1, 1 % max(k, 1)]) if k else -1, mix=rng.choice([0.0, 1.0, 0.3, 0.77]),
            mix_follows_t=rng.random() < 0.3, psi=rng.choice([1.0, 0.7, 1.35]), directions_k=4,
            directions=tuple(rng.choice([0.0, 0.0, 1.5, -2.25]) for _ in range(4))))
    return out


@pytest.mark.parametrize("k", [0, 10])
def test_recipe_inputs_match_the_python_port(k: int) -> None:
    """Paths, easing, slerp/lerp, truncation, directions and class blends: same z, same class weights."""
    nz = 100
    rs = np.random.RandomState(3)
    vecs = rs.randn(4, nz).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    dirs = Directions(vectors=vecs, variance=np.ones(4, np.float32))
    recipes = _recipes(k, 60)
    cases = [{"recipe": {"seed_a": r.seed_a, "seed_b": r.seed_b, "keyframes": list(r.keyframes), "t": r.t,
                         "mode": r.mode, "easing": r.easing, "class_a": r.class_a, "class_b": r.class_b,
                         "mix": r.mix, "mix_follows_t": r.mix_follows_t, "psi": r.psi,
                         "directions": list(r.directions)},
              "nz": nz, "k": k, "directions": vecs.tolist()} for r in recipes]
    exact = 0
    for r, got in zip(recipes, run_js("inputs", cases)):
        ref = recipe_inputs(r, nz, k, lambda _k: dirs)
        z = np.asarray(got["z"], np.float32)
        # float32 to the last bit, except where a slerp's float64 sums round one way in BLAS and
        # the other in a plain loop (then one float32 step, ~1e-7 relative)
        assert np.abs(z - ref.z).max() <= 2 * np.spacing(np.abs(ref.z).max()), r
        exact += bool(np.array_equal(z, ref.z))
        if not k:
            assert got["w"] is None
            continue
        assert got["label"] == ref.label and (got["blend"] is None) == (ref.blend is None), r
        if ref.blend is not None:
            a, b, mix = ref.blend
            assert got["blend"][:2] == [a, b] and got["blend"][2] == pytest.approx(mix)
            want = np.zeros(k, np.float32)
            want[a], want[b] = 1 - mix, mix
            assert np.allclose(got["w"], want, atol=1e-7)
        else:
            assert got["w"] == [1.0 if i == ref.label else 0.0 for i in range(k)]
    assert exact >= 0.8 * len(recipes)  # most are bit-identical, not merely close


def test_the_pixel_rule_matches_to_uint8_including_halves() -> None:
    rs = np.random.RandomState(0)
    x = rs.uniform(-1.2, 1.2, (3, 5, 7)).astype(np.float32)
    # values near and (253.5, 254.5, 127.5) exactly on .5 after (x + 1) * 127.5: torch rounds half to even
    x.flat[:6] = (np.array([0.5, 1.5, 2.5, 253.5, 254.5, 127.5], np.float32) / np.float32(127.5)) - 1
    for c in (1, 3):
        img = x[:c]
        got = np.asarray(run_js("uint8", [{"x": img.ravel().tolist(), "c": c, "h": 5, "w": 7}])[0], np.uint8)
        rgba = got.reshape(5, 7, 4)
        ref = to_uint8(torch.from_numpy(img))  # (H, W, C)
        assert np.array_equal(rgba[..., :c] if c == 3 else rgba[..., :1], ref)
        assert (rgba[..., 3] == 255).all()
        if c == 1:  # grey goes to all three canvas channels
            assert np.array_equal(rgba[..., 0], rgba[..., 2])


def test_reused_buffers_and_kept_z_give_the_same_values() -> None:
    """The renderer writes every frame into one ImageData and keeps the last seeds' z: same values as fresh."""
    x = np.random.RandomState(1).uniform(-1, 1, (3, 4, 6)).astype(np.float32)
    fresh = run_js("uint8", [{"x": x.ravel().tolist(), "c": 3, "h": 4, "w": 6}])[0]
    into = run_js("uint8_into", [{"x": x.ravel().tolist(), "c": 3, "h": 4, "w": 6}])[0]
    assert into["same"] and into["pixels"] == fresh
    got = run_js("z_changed", [{"seed": 3, "nz": 100}, {"seed": 2**32 - 1, "nz": 7}])
    for (seed, nz), z in zip(((3, 100), (2**32 - 1, 7)), got):
        assert np.array_equal(np.asarray(z, np.float32), z_from_seed(seed, nz))
