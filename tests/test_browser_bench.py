"""`python -m bench browser`: its flags and its printed line (the measurement itself runs a browser: see
tests/test_e2e_browser_render.py, which drives the same page helpers)."""

from __future__ import annotations


def test_flags_and_defaults() -> None:
    from bench.__main__ import build_parser

    p = build_parser()
    a = p.parse_args(["browser", "--checkpoint", "mnist-acgan", "--checkpoint", "mnist-dcgan", "--steps", "5",
                      "--no-train", "--json"])
    assert (a.what, a.checkpoint, a.steps, a.no_train, a.json) == \
        ("browser", ["mnist-acgan", "mnist-dcgan"], 5, True, True)
    d = p.parse_args(["browser"])
    assert d.checkpoint is None and d.steps == 30 and not d.no_train


def test_the_line_names_each_figure_and_its_goal() -> None:
    from bench import browser as bb

    r = {"checkpoint": "mnist-acgan", "phase": "training", "backend": "wasm", "error": None, "precision": "fp16",
         "export_bytes": {"generator.onnx": 4_912_660, "generator-fp16.onnx": 2_468_411},
         "diff": {"max": 1, "mean": 0.0046, "images": 3}, "first_frame_ms": 1156.0,
         "browser_input_to_paint": {"p50_ms": 34.9, "p95_ms": 68.5}, "browser_frame": {"p50_ms": 25.5, "p95_ms": 60.0},
         "server_input_to_paint": {"p50_ms": 120.0, "p95_ms": 333.3}}
    line = bb.report(r)
    for part in ("generator.onnx 4.91 MB", "generator-fp16.onnx 2.47 MB", "input->paint p50 34.9 / p95 68.5 ms",
                 f"goal p95 <= {bb.GOAL_BROWSER_P95_MS:.0f}", "first frame 1156 ms", "max 1 / mean 0.005",
                 "server input->paint p50 120.0 / p95 333.3 ms", f"goal p95 <= {bb.GOAL_SERVER_P95_MS:.0f}"):
        assert part in line, part
    assert "inference" not in line  # no breakdown measured: no breakdown lines
    phases = {name: {"p50_ms": 1.0 + i, "p95_ms": 10.0 + i} for i, (name, _, _) in enumerate(bb.PHASES)}
    lines = bb.report({**r, "browser_phases": phases}).splitlines()
    assert lines[0] == line and len(lines) == 1 + len(bb.PHASES)
    for i, (name, _, _) in enumerate(bb.PHASES):
        assert f"{name}: p50 {1.0 + i:.1f} / p95 {10.0 + i:.1f} ms" in lines[1 + i]
    off = bb.report({**r, "error": "this browser has no WebAssembly SIMD"})
    assert "in-browser off: this browser has no WebAssembly SIMD" in off
    assert set(bb.shipped()) >= {"mnist-acgan", "mnist-dcgan", "orl-faces-acgan"}
