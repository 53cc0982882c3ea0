"""Smoke runs of `python -m bench train|data|peak` (few steps): they time real work and report every
figure the performance issue asks for, each beside its goal. The real figures come from running it
by hand."""

from __future__ import annotations

import json

import pytest
import torch

from bench import goals, peak, timing
from bench.__main__ import main
from gan_core.device import cpu_has_bf16


@pytest.fixture(autouse=True)
def short_peak(monkeypatch: pytest.MonkeyPatch) -> None:
    real = peak.measure_peak
    monkeypatch.setattr(peak, "measure_peak", lambda **kw: real(seconds=0.05, **kw))


@pytest.mark.slow
def test_train_reports_both_steps_the_ratio_and_the_shares(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--model", "acgan", "--image-size", "32", "--batch-size", "8", "--steps", "2",
                 "--device", "cpu", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["img_per_s"] > 0 and r["seed_style_img_per_s"] > 0
    assert r["speedup"] == pytest.approx(r["img_per_s"] / r["seed_style_img_per_s"], rel=0.02)
    assert r["gflop_per_step"] > 0 and 0 < r["share_of_peak"]
    # the share is of the peak the trainer can use: bf16 where the CPU has it, else fp32 (and it says so)
    bf16 = cpu_has_bf16()
    assert r["peak_basis"] == ("bf16" if bf16 else "fp32") and ("note" in r) == (not bf16)
    assert 0 < r["data_share"] < 1 and r["timed_steps"] == 2
    # the goals come from bench.goals, beside the figures
    assert r["speedup_goal"] == goals.TRAIN_SPEEDUP[("acgan", 32)] and r["share_goal"] == goals.PEAK_SHARE
    assert "gpu_goal_img_per_s" not in r


def test_train_text_prints_each_figure_next_to_its_goal() -> None:
    r = {"model": "acgan", "image_size": 32, "speedup": 3.5, "share_of_peak": 0.2, "peak_basis": "bf16",
         "data_share": 0.01, "img_per_s": 900.0}
    v = goals.train_verdicts(r)
    assert v["speedup"] == "3.5x (goal >= 3.0x: met)"
    assert v["share_of_peak"].startswith("20% of the bf16 peak") and v["share_of_peak"].endswith("NOT met)")
    assert v["data_share"].endswith("met)") and "NOT" not in v["data_share"] and "img_per_s" not in v
    gpu = goals.train_verdicts({**r, "model": "dcgan", "image_size": 64, "device_name": "H100", "img_per_s": 12000})
    assert gpu["img_per_s"] == "12000 (GPU goal >= 10,000 on an H100: met)"
    assert gpu["speedup"] == "3.5x (goal >= 2.0x: met)"
    assert goals.train_verdicts({**r, "image_size": 48})["speedup"] == "3.5x"  # no goal for this size


@pytest.mark.slow
def test_data_reports_ingest_and_the_data_share(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "--images", "20", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["images"] == 20 and r["ingest_img_per_s"] > 0
    assert 0 < r["batch_fetch_ms"] < r["step_ms"] and r["data_share"] == pytest.approx(
        r["batch_fetch_ms"] / r["step_ms"], rel=0.01, abs=1e-4)


def test_timer_takes_turns_and_waits_for_the_device_around_each_reading() -> None:
    """Steps are timed a, b, a, b (so slow spells hit both) and `sync` runs right before and
    after every timed call: CUDA returns from a step before its kernels have run."""
    events: list[str] = []

    def fn(name: str):
        return lambda: events.append(name)

    meds = timing.median_times([fn("a"), fn("b")], steps=2, warmup=1, sync=lambda: events.append("sync"))
    assert len(meds) == 2 and all(m >= 0 for m in meds)
    assert events == ["a", "b"] + ["sync", "a", "sync", "sync", "b", "sync"] * 2
    assert timing.sync_for(torch.device("cpu")) is timing.no_sync


def test_subcommands_and_flags_are_those_of_the_documented_cli(capsys: pytest.CaptureFixture[str]) -> None:
    """scripts/gpu_check.sh and the README call `python -m bench train|data|peak|render|http` with these flags."""
    from bench.__main__ import build_parser

    p = build_parser()
    a = p.parse_args(["train", "--model", "dcgan", "--image-size", "64", "--batch-size", "256", "--dataset",
                      "mnist", "--device", "cuda", "--steps", "20", "--threads", "2", "--json"])
    assert (a.what, a.model, a.image_size, a.batch_size, a.dataset, a.device, a.steps, a.threads, a.json) == \
        ("train", "dcgan", 64, 256, "mnist", "cuda", 20, 2, True)
    assert p.parse_args(["peak", "--device", "cpu", "--json"]).device == "cpu"
    assert p.parse_args(["data", "--images", "5"]).images == 5
    r = p.parse_args(["render", "--checkpoint", "c", "--n", "3", "--warmup", "1", "--no-train", "--json"])
    assert (r.checkpoint, r.n, r.warmup, r.no_train, r.json) == ("c", 3, 1, True, True)
    h = p.parse_args(["http", "--checkpoint", "c", "--clients", "2", "--requests", "3", "--no-load", "--no-train"])
    assert (h.clients, h.requests, h.no_load, h.no_train, h.n) == (2, 3, True, True, 200)
    with pytest.raises(SystemExit):
        p.parse_args(["train", "--model", "stylegan", "--image-size", "32"])
    capsys.readouterr()
