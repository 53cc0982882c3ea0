"""Smoke runs of the latency benchmarks (tiny model, few requests): they run and report figures.

The real figures come from running `python -m bench render` / `python -m bench http` by hand.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import http, render, timing
from bench.__main__ import main
from panel_support import make_checkpoints


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_checkpoints(tmp_path_factory.mktemp("ck"), ("plain",)) / "plain"


def tiny_training(folder: Path) -> list[str]:
    return ["--dataset", str(folder), "--model", "dcgan", "--image-size", "32", "--batch-size", "8",
            "--steps", "1000000", "--ngf", "8", "--ndf", "8", "--log-every", "1",
            "--sample-every", "100000", "--ckpt-every", "100000"]


@pytest.mark.slow
def test_render_bench_idle_and_while_training(ckpt: Path, tiny_folder: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    result = render.run(ckpt, n=30, warmup=3, train=True, train_args=tiny_training(tiny_folder))
    for phase in ("idle", "training"):
        r = result[phase]["render"]
        assert r["n"] == 30 and 0 < r["p50_ms"] <= r["p95_ms"] <= r["max_ms"]
        assert result[phase]["render+png"]["p50_ms"] > 0
    assert result["training"]["train_steps_during"] > 0  # the load was real
    assert main(["render", "--checkpoint", str(ckpt), "--n", "5", "--warmup", "1", "--no-train"]) == 0
    out = capsys.readouterr().out
    assert "idle     render" in out and "p95" in out and "goal: p95 <= 10 ms" in out
    assert main(["render", "--checkpoint", str(ckpt.parent / "missing"), "--no-train"]) == 2
    assert "error:" in capsys.readouterr().err


@pytest.mark.slow
def test_http_bench_16_clients_while_training_without_errors(ckpt: Path, tiny_folder: Path) -> None:
    """The hardening load case at CI scale: 16 concurrent clients (far more than the 2 renders the
    queue runs at once) while a training process runs; every request completes. The full 16 x 50
    figures come from `python -m bench http` by hand."""
    result = http.run(str(ckpt), n=10, warmup=2, train=False, load=True, clients=16, requests=4,
                      train_args=tiny_training(tiny_folder))
    assert result["checkpoint"] == "plain"
    idle = result["idle"]
    assert idle["call"]["n"] == 10 and 0 < idle["call"]["p50_ms"] <= idle["call+image"]["p50_ms"]
    assert idle["server_cpu_ms_per_request"] > 0
    load = result["load"]
    assert load["errors"] == 0, load.get("first_error")
    assert load["n"] == 64 and load["p95_ms"] >= load["p50_ms"] > 0
    assert result["train_steps_during"] > 0  # the training really ran meanwhile
    assert "load     16 clients x 4 requests while training:" in http.report(result)


def test_event_stream_parsing() -> None:
    assert http.parse_sse(b'event: heartbeat\ndata: null\n\nevent: error\ndata: {"error": "x"}\n\n') \
        == ("error", {"error": "x"})
    assert http.parse_sse(b'event: complete\ndata: [1]\n\n') == ("complete", [1])


def test_percentiles_match_numpy_definition() -> None:
    assert timing.percentile([1, 2, 3, 4], 50) == 2.5
    assert timing.percentile([10, 20, 30, 40, 50], 95) == pytest.approx(48.0)
    assert timing.percentiles([5.0])["p95_ms"] == 5.0
