// In-browser rendering for the panel: onnxruntime-web runs the exported generator on a <canvas> in
// #gs-browser-view, and the t, class mix, truncation and direction sliders redraw it on every input
// event without a request to the server.
//
// How: Gradio still takes every slider change into its own state (so recipes, downloads and exports,
// which stay server-rendered, read what the user sees), but the server render wired to those sliders
// is gated by `GSBrowser.owns()` in its client-side `js` step: while the browser renders, the step
// stops the event before any request is made. A passive listener here reads the slider's value from
// the input event and draws at once. Every other control (seeds, keyframes, classes, path, easing)
// still goes through Gradio; a client-only Gradio event (`GSBrowser.controls`) mirrors every
// control's value here. Switching off shows the server's image again, rendered by the switch's own
// event for the controls' current values.
//
// The panel calls GSBrowser.setup(payload) with what ui/browser/payload.py sends (once per switch-on
// or model change). Any failure (no WebAssembly SIMD, the runtime or model file not loading) shows a
// message and leaves rendering to the server. window.GSBrowser.state exposes the figures (backend,
// per-frame ms, input-to-paint ms, the measured difference from the server) for the page and tests.
(function () {
  "use strict";
  const HOT = ["t", "mix", "psi", "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7"];
  const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8,
    0, 65, 0, 253, 15, 253, 98, 11]);
  const state = {
    on: false, ready: false, backend: null, error: null, model: null, values: {},
    directions: null, session: null, adapter: null, timings: {}, phases: [], frames: 0, frameMs: [], paintMs: [], firstFrameMs: null, diff: null,
  };
  let pendingInputs = [], busy = false, again = false, switchedAt = 0, clicked = false, generation = 0;

  const $ = (sel) => document.querySelector(sel);
  const hotName = (el) => {
    const block = el && el.closest && el.closest("[id^=gs-]");
    if (!block) return null;
    const name = block.id.slice(3);
    return HOT.includes(name) ? name : null;
  };

  // -- the view -----------------------------------------------------------------------------
  function view() {
    const root = $("#gs-browser-view");
    if (!root) return null;
    if (!root.querySelector("canvas.gs-bv-canvas")) {
      root.insertAdjacentHTML("beforeend", '<div class="gs-bv-status" role="status"></div>' +
        '<canvas class="gs-bv-canvas" width="1" height="1"></canvas><div class="gs-bv-diff"></div>');
    }
    return root;
  }

  function say(text, cls) {
    const root = view();
    if (!root) return;
    const s = root.querySelector(".gs-bv-status");
    s.textContent = text;
    s.className = "gs-bv-status" + (cls ? " " + cls : "");
  }

  function show(on) { // the canvas replaces the server's image while the browser renders
    const canvas = view() && view().querySelector("canvas.gs-bv-canvas"), image = $("#gs-image");
    if (canvas) canvas.style.display = on ? "block" : "none";
    if (image) image.style.display = on ? "none" : "";
  }

  function median(a, q) {
    if (!a.length) return null;
    const s = [...a].sort((x, y) => x - y);
    return s[Math.min(s.length - 1, Math.floor(q * s.length))];
  }

  function statusLine() {
    const p50 = median(state.frameMs, 0.5), i50 = median(state.paintMs, 0.5);
    return `Rendering in this browser with ${state.backend === "webgpu" ? "WebGPU" : "WebAssembly"} ` +
      `(onnxruntime-web, ${state.model.precision} weights)` +
      (p50 === null ? "" : ` · ${p50.toFixed(1)} ms per frame`) +
      (i50 === null ? "" : ` · input to paint ${i50.toFixed(1)} ms`);
  }

  // -- controls -> recipe ----------------------------------------------------------------------
  function parseKeyframes(text) {
    if (Array.isArray(text)) return text.map(Number);
    const parts = String(text || "").trim().split(/[\s,;]+/).filter((p) => p);
    const out = parts.map((p) => Number(p));
    if (out.some((v) => !Number.isInteger(v) || v < 0 || v > GSLatent.MAX_SEED)) throw new Error("keyframes are not seeds");
    return out;
  }

  function classValue(v) {
    if (v === null || v === undefined || v === "") return -1;
    const n = Number(v);
    return Number.isInteger(n) ? n : -1;
  }

  function recipe() {
    const v = state.values, k = Number(v.directions_k) || 8;
    const dirs = [];
    for (let i = 0; i < Math.min(k, 8); i++) dirs.push(Math.min(5, Math.max(-5, Number(v["d" + i]) || 0)));
    return {
      seed_a: Number(v.seed_a), seed_b: Number(v.seed_b), keyframes: parseKeyframes(v.keyframes),
      t: Number(v.t), mode: v.mode, easing: v.easing, class_a: classValue(v.class_a), class_b: classValue(v.class_b),
      mix: Number(v.mix), mix_follows_t: !!v.mix_follows_t, psi: Number(v.psi), directions_k: k, directions: dirs,
    };
  }

  // -- the runtime ---------------------------------------------------------------------------
  function loadScript(src) {
    return new Promise((resolve, reject) => {
      if (window.ort) return resolve();
      const s = document.createElement("script");
      s.src = src;
      s.onload = () => resolve();
      s.onerror = () => reject(new Error("could not load " + src));
      document.head.appendChild(s);
    });
  }

  // A hardware WebGPU adapter, or null. A fallback adapter is software (SwiftShader on the CPU): in
  // headless Chromium with --enable-unsafe-webgpu it renders far slower than WebAssembly (frame times in
  // test-artifacts/browser_render.json after tests/test_e2e_browser_render.py), so it is skipped unless
  // the page sets window.GS_ALLOW_FALLBACK_GPU (the test of the WebGPU path does).
  async function gpuAdapter() {
    try {
      const adapter = navigator.gpu ? await navigator.gpu.requestAdapter() : null;
      if (!adapter) return null;
      const info = adapter.info || {};
      const fallback = !!(adapter.isFallbackAdapter || info.isFallbackAdapter);
      state.adapter = { vendor: info.vendor || "", architecture: info.architecture || "", fallback };
      return fallback && !window.GS_ALLOW_FALLBACK_GPU ? null : adapter;
    } catch (e) { return null; }
  }

  // a 66-byte ONNX model (y = Relu(x)): opening it loads and compiles the runtime's WebAssembly while
  // the server prepares the real model, so switching on costs one wait, not two
  const WARM_MODEL = "CAgSADo2CgwKAXgSAXkiBFJlbHUSBHdhcm1aDwoBeBIKCggIARIECgIIAWIPCgF5EgoKCAgBEgQKAggBQgQKABAN";
  let runtime = null;

  function warmRuntime(base) { // -> {gpu}: the runtime loaded and initialised (once per page)
    if (runtime) return runtime;
    runtime = (async () => {
      if (typeof WebAssembly !== "object" || !WebAssembly.validate(SIMD_PROBE)) {
        throw new Error("this browser has no WebAssembly SIMD");
      }
      const t0 = performance.now();
      const gpu = await gpuAdapter();
      await loadScript(base + (gpu ? "ort.webgpu.min.js" : "ort.wasm.min.js"));
      const ort = window.ort;
      ort.env.wasm.wasmPaths = new URL(base, location.href).href;
      ort.env.wasm.numThreads = 1; // no cross-origin isolation for threads; and the server may be training
      ort.env.wasm.proxy = false;
      ort.env.logLevel = "error";
      state.timings.script = performance.now() - t0;
      await ort.InferenceSession.create(decode(WARM_MODEL, Uint8Array), { executionProviders: ["wasm"] });
      state.timings.runtime = performance.now() - t0;
      return { gpu: !!gpu };
    })();
    runtime.catch(() => { runtime = null; }); // a later switch-on tries again
    return runtime;
  }

  async function openSession(payload) {
    const t0 = performance.now();
    const [{ gpu }, bytes] = await Promise.all([warmRuntime(payload.runtime), (async () => {
      const resp = await fetch(payload.model.url + payload.model.file);
      if (!resp.ok) throw new Error(`the model file did not load (HTTP ${resp.status})`);
      return new Uint8Array(await resp.arrayBuffer());
    })()]);
    state.timings.model = performance.now() - t0;
    for (const ep of gpu ? ["webgpu", "wasm"] : ["wasm"]) {
      try {
        const session = await window.ort.InferenceSession.create(bytes, { executionProviders: [ep],
          graphOptimizationLevel: "all" });
        state.timings.session = performance.now() - t0;
        return { session, backend: ep };
      } catch (e) {
        if (ep === "wasm") throw new Error("the model file could not be loaded: " + (e.message || e));
      }
    }
  }

  function decode(b64, Type) {
    const bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Type(bytes.buffer);
  }

  function inputsOf(r) { // a recipe -> the graph's inputs (throws on a recipe the model cannot take)
    const m = state.model;
    return GSLatent.recipeInputs(r, m.nz, m.num_classes, state.directions);
  }

  async function run(r, inp, rgba) { // one recipe -> RGBA pixels (into `rgba` when given)
    const m = state.model;
    inp = inp || inputsOf(r);
    const feeds = { z: new window.ort.Tensor("float32", inp.z, [1, m.nz]) };
    if (m.num_classes) feeds.class_weights = new window.ort.Tensor("float32", inp.classWeights, [1, m.num_classes]);
    const out = await state.session.run(feeds);
    const x = await out.image.getData();
    return GSLatent.toUint8(x, m.channels, m.image_size, m.image_size, rgba);
  }

  async function compare(references) { // the largest and mean difference from the server's renders
    let worst = 0, sum = 0, n = 0;
    for (const ref of references) {
      const mine = await run(ref.recipe), theirs = decode(ref.pixels, Uint8Array);
      const [h, w, c] = ref.shape;
      for (let p = 0; p < h * w; p++) {
        for (let ch = 0; ch < c; ch++) {
          const d = Math.abs(mine[p * 4 + ch] - theirs[p * c + ch]);
          worst = Math.max(worst, d); sum += d; n++;
        }
      }
    }
    return { max: worst, mean: n ? sum / n : 0, images: references.length };
  }

  // -- drawing -------------------------------------------------------------------------------
  // One canvas, its 2-D context and one ImageData per model size, reused by every frame; the status
  // line (medians over the last frames) is rewritten at most STATUS_MS apart, outside the frame.
  const STATUS_MS = 250;
  let target = null, statusTimer = null;

  function surface(size) {
    const canvas = view().querySelector("canvas.gs-bv-canvas");
    if (!target || target.canvas !== canvas || target.size !== size) {
      canvas.width = size; canvas.height = size;
      target = { canvas, size, ctx: canvas.getContext("2d"), image: new ImageData(size, size) };
    }
    return target;
  }

  function statusSoon() {
    if (statusTimer === null) statusTimer = setTimeout(() => { statusTimer = null; if (owns()) say(statusLine()); }, STATUS_MS);
  }

  function keep(a, n) { if (a.length > n) a.splice(0, a.length - n); }

  async function frame(inputs) {
    const m = state.model;
    const first = inputs.length ? inputs[0] : null;
    let r, inp;
    try { r = recipe(); inp = inputsOf(r); } catch (e) { // e.g. a seed box being edited: wait for a valid one
      say("In-browser rendering paused: " + e.message, "gs-bv-warn");
      return;
    }
    const t0 = performance.now();
    const out = surface(m.image_size);
    await run(r, inp, out.image.data);
    const t1a = performance.now();
    out.ctx.putImageData(out.image, 0, 0);
    const t1 = performance.now();
    state.frames++;
    state.frameMs.push(t1 - t0);
    keep(state.frameMs, 500);
    // where the time goes: input event -> inference start -> pixels ready -> canvas written -> painting frame
    const ph = { input: first, start: t0, ran: t1a, drawn: t1, painted: null };
    requestAnimationFrame(() => { // the frame that shows the canvas is being produced now
      const painted = performance.now();
      ph.painted = painted; state.phases.push(ph);
      keep(state.phases, 500);
      for (const ti of inputs) state.paintMs.push(painted - ti);
      keep(state.paintMs, 500);
      if (state.firstFrameMs === null) { state.firstFrameMs = painted - switchedAt; say(statusLine()); }
      else statusSoon();
    });
  }

  async function redraw(inputTime) {
    if (inputTime !== undefined) pendingInputs.push(inputTime);
    if (!state.ready) return;
    if (busy) { again = true; return; }
    busy = state.busy = true;
    try {
      do {
        again = false;
        const inputs = pendingInputs;
        pendingInputs = [];
        await frame(inputs);
      } while (again);
    } catch (e) {
      fail("rendering failed: " + (e.message || e));
    } finally {
      busy = state.busy = false;
    }
  }

  // -- the sliders ---------------------------------------------------------------------------
  function onInput(e) { // passive: Gradio sees the event too (its own render is gated by owns())
    if (!state.on || !state.ready) return;
    const name = hotName(e.target);
    if (!name || !(e.target instanceof HTMLInputElement)) return;
    const value = Number(e.target.value);
    if (!Number.isFinite(value) || e.target.value === "") return;
    state.values[name] = value;
    redraw(performance.now());
  }

  function listen(on) {
    if (on) window.addEventListener("input", onInput, { capture: true, passive: true });
    else window.removeEventListener("input", onInput, { capture: true });
  }

  function owns() { return state.on && state.ready; }

  // -- switching -----------------------------------------------------------------------------
  function fail(message) {
    state.on = false; state.ready = false; state.error = message;
    listen(false);
    show(false);
    say(`In-browser rendering is off: ${message}. The server renders the images.`, "gs-bv-error");
  }

  async function setup(payload) {
    const mine = ++generation;
    if (!payload || typeof payload !== "object") {
      try { payload = JSON.parse(payload || "null"); } catch (e) { payload = null; }
    }
    if (!payload) return;
    view();
    if (!payload.on) {
      state.on = false; state.ready = false;
      listen(false);
      show(false);
      if (payload.error) { state.error = payload.error; say(payload.error, "gs-bv-error"); }
      else say("");
      return;
    }
    if (!clicked) switchedAt = performance.now(); // a new model while on: timed from its payload
    clicked = false;
    Object.assign(state, { on: true, ready: false, error: null, model: payload.model, diff: null, firstFrameMs: null,
      frames: 0, frameMs: [], paintMs: [] });
    Object.assign(state.values, payload.values || {});
    listen(true);
    say("Loading the generator into this browser…");
    try {
      const d = payload.directions;
      const flat = decode(d.vectors, Float32Array);
      state.directions = [];
      for (let i = 0; i < flat.length / d.nz; i++) state.directions.push(flat.subarray(i * d.nz, (i + 1) * d.nz));
      if (!state.session || state.sessionKey !== payload.model.url + payload.model.file) {
        state.session = null;
        const opened = await openSession(payload);
        if (mine !== generation) return;
        state.session = opened.session; state.backend = opened.backend;
        state.sessionKey = payload.model.url + payload.model.file;
      }
      state.ready = true;
      show(true);
      await redraw(switchedAt);
      state.diff = await compare(payload.references);
      if (mine !== generation) return;
      say(statusLine());
      view().querySelector(".gs-bv-diff").textContent =
        `Largest difference from the server's image: ${state.diff.max} grey level${state.diff.max === 1 ? "" : "s"} ` +
        `(mean ${state.diff.mean.toFixed(3)}, measured on ${state.diff.images} images). ` +
        "Recipes, downloads and exports are rendered on the server.";
    } catch (e) {
      if (mine === generation) fail(e.message || String(e));
    }
  }

  function controls(names, values) { // every recipe control's value, from a client-only Gradio event
    let changed = false;
    names.forEach((n, i) => {
      if (state.values[n] !== values[i]) { state.values[n] = values[i]; changed = true; }
    });
    if (changed && owns()) redraw();
  }

  function preparing(on) { // the checkbox was clicked: the server prepares the model (an export the first time)
    if (!on) return;
    switchedAt = performance.now();
    clicked = true;
    state.timings = {};
    say("Preparing the generator for this browser (the first time for a checkpoint it is exported: several seconds)…");
    warmRuntime("/gs-browser/ort/").catch(() => {}); // setup() reports a failure
  }

  window.GSBrowser = { setup, controls, owns, preparing, state, HOT };
})();
