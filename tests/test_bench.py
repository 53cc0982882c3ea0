"""Smoke runs of `python -m gan_core.bench train|data` (few steps): they time real work and report
every figure the performance issue asks for. The real figures come from running it by hand."""

from __future__ import annotations

import json

import pytest

from gan_core import bench
from gan_core.device import cpu_has_bf16


@pytest.fixture(autouse=True)
def short_peak(monkeypatch: pytest.MonkeyPatch) -> None:
    real = bench.measure_peak
    monkeypatch.setattr(bench, "measure_peak", lambda **kw: real(seconds=0.05, **kw))


def test_train_reports_both_steps_the_ratio_and_the_shares(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["train", "--model", "acgan", "--image-size", "32", "--batch-size", "8", "--steps", "2",
                       "--device", "cpu", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["img_per_s"] > 0 and r["seed_style_img_per_s"] > 0
    assert r["speedup"] == pytest.approx(r["img_per_s"] / r["seed_style_img_per_s"], rel=0.02)
    assert r["gflop_per_step"] > 0 and 0 < r["share_of_peak"]
    # the share is of the peak the trainer can use: bf16 where the CPU has it, else fp32 (and it says so)
    bf16 = cpu_has_bf16()
    assert r["peak_basis"] == ("bf16" if bf16 else "fp32") and ("note" in r) == (not bf16)
    assert 0 < r["data_share"] < 1 and r["timed_steps"] == 2


def test_data_reports_ingest_and_the_data_share(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["data", "--images", "20", "--json"]) == 0
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

    meds = bench._median_times([fn("a"), fn("b")], steps=2, warmup=1, sync=lambda: events.append("sync"))
    assert len(meds) == 2 and all(m >= 0 for m in meds)
    assert events == ["a", "b"] + ["sync", "a", "sync", "sync", "b", "sync"] * 2
    assert bench._sync_for(bench.torch.device("cpu")) is bench._no_sync
