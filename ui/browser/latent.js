// The explorer's latent maths in JavaScript: a line-by-line port of gan_core/latent.py and
// gan_core/explore/inputs.py (recipe -> generator inputs), for rendering in the browser.
//
// Seeded z: NumPy's legacy RandomState (MT19937 seeded with init_genrand, Gaussians by the polar
// method, a cached second value) is deterministic and platform-independent, so it is ported here
// and the browser computes z(seed) itself: no z travels over the network and old recipes keep
// their pixels. Float32 rounding follows NumPy's (NEP 50: a Python float meets a float32 array as
// float32), via Math.fround; slerp runs in float64 as in Python. tests/test_browser_latent.py runs
// this file in node and compares every function with the Python values.
//
// Works as a browser script (window.GSLatent) and as a CommonJS module (node).
(function (root) {
  "use strict";
  const f32 = Math.fround;
  const EASINGS = ["linear", "ease-in-out", "ease-in", "ease-out", "cubic"];
  const MAX_SEED = 4294967295;

  // -- MT19937 with NumPy's legacy Gaussian ------------------------------------------------
  class RandomState {
    constructor(seed) {
      if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
        throw new RangeError("seed must be between 0 and " + MAX_SEED + ", got " + seed);
      }
      this.mt = new Uint32Array(624);
      this.mt[0] = seed >>> 0;
      for (let i = 1; i < 624; i++) {
        const prev = this.mt[i - 1] ^ (this.mt[i - 1] >>> 30);
        // 1812433253 * prev + i, mod 2^32, without losing bits in float64
        this.mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
      }
      this.pos = 624;
      this.gauss = null;
    }

    int32() {
      const mt = this.mt;
      if (this.pos >= 624) {
        for (let k = 0; k < 624; k++) {
          const y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7fffffff);
          mt[k] = mt[(k + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
        }
        this.pos = 0;
      }
      let y = mt[this.pos++];
      y ^= y >>> 11;
      y ^= (y << 7) & 0x9d2c5680;
      y ^= (y << 15) & 0xefc60000;
      y ^= y >>> 18;
      return y >>> 0;
    }

    double() { // 53-bit double in [0, 1), as NumPy's legacy_double
      const a = this.int32() >>> 5, b = this.int32() >>> 6;
      return (a * 67108864.0 + b) / 9007199254740992.0;
    }

    gaussian() { // NumPy's legacy_gauss: polar Box-Muller, the second value cached
      if (this.gauss !== null) {
        const g = this.gauss;
        this.gauss = null;
        return g;
      }
      let x1, x2, r2;
      do {
        x1 = 2.0 * this.double() - 1.0;
        x2 = 2.0 * this.double() - 1.0;
        r2 = x1 * x1 + x2 * x2;
      } while (r2 >= 1.0 || r2 === 0.0);
      const f = Math.sqrt(-2.0 * Math.log(r2) / r2);
      this.gauss = f * x1;
      return f * x2;
    }
  }

  // a slider move recomputes the same one or two seeds' z on every frame: the last few are kept
  // (a fresh copy is returned, so callers may change it)
  const Z_CACHE = new Map(), Z_CACHE_SIZE = 8;

  function zFromSeed(seed, nz) { // latent.z_from_seed: (nz,) float32
    const key = seed + ":" + nz;
    let z = Z_CACHE.get(key);
    if (!z) {
      const rs = new RandomState(seed);
      z = new Float32Array(nz);
      for (let i = 0; i < nz; i++) z[i] = rs.gaussian();
      if (Z_CACHE.size >= Z_CACHE_SIZE) Z_CACHE.delete(Z_CACHE.keys().next().value);
      Z_CACHE.set(key, z);
    }
    return Float32Array.from(z);
  }

  function seedClass(seed, numClasses) {
    if (numClasses < 1) throw new RangeError("an unconditional model has no classes");
    return seed % numClasses;
  }

  // -- float32 vector maths as NumPy does it ------------------------------------------------
  function truncate(z, psi) { // c = 0: c + psi * (z - c), in float32
    const p = f32(psi), out = new Float32Array(z.length);
    for (let i = 0; i < z.length; i++) out[i] = f32(p * z[i]);
    return out;
  }

  function lerp(a, b, t) {
    if (t === 0.0) return Float32Array.from(a);
    if (t === 1.0) return Float32Array.from(b);
    const wa = f32(1.0 - t), wb = f32(t), out = new Float32Array(a.length);
    for (let i = 0; i < a.length; i++) out[i] = f32(f32(wa * a[i]) + f32(wb * b[i]));
    return out;
  }

  function norm64(v) {
    let s = 0.0;
    for (let i = 0; i < v.length; i++) s += v[i] * v[i];
    return Math.sqrt(s);
  }

  function slerp(a, b, t, eps = 1e-4) { // float64 inside, as latent.slerp
    if (t === 0.0) return Float32Array.from(a);
    if (t === 1.0) return Float32Array.from(b);
    const na = norm64(a), nb = norm64(b);
    if (na < 1e-12 || nb < 1e-12) return lerp(a, b, t);
    let dot = 0.0;
    for (let i = 0; i < a.length; i++) dot += (a[i] / na) * (b[i] / nb);
    const cos = Math.min(1.0, Math.max(-1.0, dot));
    const omega = Math.acos(cos), so = Math.sin(omega);
    if (so < eps) return lerp(a, b, t);
    const wa = Math.sin((1.0 - t) * omega) / so, wb = Math.sin(t * omega) / so;
    const out = new Float32Array(a.length);
    for (let i = 0; i < a.length; i++) out[i] = wa * a[i] + wb * b[i];
    return out;
  }

  function interpolate(a, b, t, mode) {
    if (mode === "lerp") return lerp(a, b, t);
    if (mode === "slerp") return slerp(a, b, t);
    throw new RangeError("interpolation mode must be slerp or lerp, got " + mode);
  }

  function ease(t, kind) {
    t = Math.min(1.0, Math.max(0.0, Number(t)));
    switch (kind) {
      case "linear": return t;
      case "ease-in-out": return t * t * (3.0 - 2.0 * t);
      case "ease-in": return t * t;
      case "ease-out": return 1.0 - (1.0 - t) * (1.0 - t);
      case "cubic": return t < 0.5 ? 4 * t ** 3 : 1 - (-2 * t + 2) ** 3 / 2;
      default: throw new RangeError("easing must be one of " + EASINGS.join(", ") + ", got " + kind);
    }
  }

  function walkPosition(nKeys, u, easing) { // -> [i, j, eased t]; loop = false (recipes)
    const segments = nKeys - 1;
    if (segments < 1) return [0, 0, 0.0];
    const x = Math.min(Math.max(u, 0.0), 1.0) * segments;
    const i = Math.min(Math.floor(x), segments - 1);
    return [i, (i + 1) % nKeys, ease(x - i, easing)];
  }

  function applyDirections(z, vectors, values) { // latent.Directions.apply
    const out = Float32Array.from(z);
    const n = Math.min(values.length, vectors.length);
    for (let k = 0; k < n; k++) {
      const v = values[k];
      if (!v) continue;
      const vf = f32(v), vec = vectors[k];
      for (let i = 0; i < out.length; i++) out[i] = f32(out[i] + f32(vf * vec[i]));
    }
    return out;
  }

  // -- a recipe -> the graph's inputs (gan_core.explore.inputs.recipe_inputs) ---------------
  // recipe: {seed_a, seed_b, keyframes[], t, mode, easing, class_a, class_b, mix, mix_follows_t,
  //          psi, directions[] (the first directions_k values)}; directions: the model's top-k
  //          unit vectors (Float32Array each) when any value is non-zero.
  // Returns {z: Float32Array(nz), classWeights: Float32Array(K) | null, label, blend}.
  function recipeInputs(recipe, nz, numClasses, directions) {
    const seeds = [recipe.seed_a, recipe.seed_b, ...(recipe.keyframes || [])];
    const [i, j, u] = walkPosition(seeds.length, recipe.t, recipe.easing);
    let z;
    if (u === 0.0) z = zFromSeed(seeds[i], nz);
    else if (u === 1.0) z = zFromSeed(seeds[j], nz);
    else z = interpolate(zFromSeed(seeds[i], nz), zFromSeed(seeds[j], nz), u, recipe.mode);
    if (recipe.psi !== 1.0) z = truncate(z, recipe.psi);
    const values = recipe.directions || [];
    if (values.some((v) => v)) {
      if (!directions) throw new Error("this recipe moves along latent directions: the model's directions are needed");
      z = applyDirections(z, directions, values);
    }
    if (!numClasses) return { z, classWeights: null, label: null, blend: null };
    let a, b, mix;
    if (recipe.class_a < 0 && recipe.class_b < 0) {
      a = seedClass(seeds[i], numClasses); b = seedClass(seeds[j], numClasses); mix = u;
    } else {
      a = recipe.class_a >= 0 ? recipe.class_a : seedClass(recipe.seed_a, numClasses);
      b = recipe.class_b >= 0 ? recipe.class_b : seedClass(recipe.seed_b, numClasses);
      mix = recipe.mix_follows_t ? recipe.t : recipe.mix;
    }
    for (const c of [a, b]) {
      if (!(c >= 0 && c < numClasses)) throw new RangeError("class must be between 0 and " + (numClasses - 1));
    }
    const w = new Float32Array(numClasses);
    if (a === b || mix === 0.0) { w[a] = 1.0; return { z, classWeights: w, label: a, blend: null }; }
    if (mix === 1.0) { w[b] = 1.0; return { z, classWeights: w, label: b, blend: null }; }
    w[a] = f32(1.0 - mix); w[b] = f32(mix);
    return { z, classWeights: w, label: null, blend: [a, b, mix] };
  }

  // -- the pixels' one rule (gan_core.images.to_uint8), for one (C, H, W) float image ------------
  function roundHalfEven(v) {
    const r = Math.round(v);
    return (r - v === 0.5 && r % 2 !== 0) ? r - 1 : r;
  }

  // -> RGBA Uint8ClampedArray (H * W * 4) for a canvas; written into `out` when given (reused per frame)
  function toUint8(x, channels, height, width, out) {
    const plane = height * width;
    if (!out || out.length !== plane * 4) out = new Uint8ClampedArray(plane * 4);
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) {
        const v = x[(channels === 1 ? 0 : c) * plane + p];
        const clamped = v < -1 ? -1 : (v > 1 ? 1 : v);
        out[p * 4 + c] = roundHalfEven(f32(f32(clamped + 1.0) * 127.5));
      }
      out[p * 4 + 3] = 255;
    }
    return out;
  }

  const api = { RandomState, zFromSeed, seedClass, truncate, lerp, slerp, interpolate, ease, walkPosition,
    applyDirections, recipeInputs, toUint8, EASINGS, MAX_SEED };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  else root.GSLatent = api;
})(typeof globalThis !== "undefined" ? globalThis : this);
