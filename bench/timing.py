"""Timing helpers shared by the benchmarks: device-aware medians, percentiles, peak memory."""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable, Sequence


def no_sync() -> None:
    pass


def sync_for(device: Any) -> Callable[[], None]:
    """What a timer must call before reading the clock: CUDA runs kernels asynchronously, so a
    step "returns" long before its work is done."""
    if device.type == "cpu":
        return no_sync
    from gan_core.device import synchronize

    return lambda: synchronize(device)


def median_times(fns: list[Callable[[], Any]], steps: int, warmup: int,
                 sync: Callable[[], None] = no_sync) -> list[float]:
    """Median seconds of each function, timed in turns (a, b, a, b, ...) after `warmup` untimed
    turns, so that the machine's slow and fast spells fall on every function alike: on a shared
    2-core machine, three runs that timed one function's steps after the other's gave ratios from
    1.25x to 2.0x. `sync` waits for the device before each clock reading."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(steps):
        for fn, ts in zip(fns, times):
            sync()
            t0 = time.perf_counter()
            fn()
            sync()
            ts.append(time.perf_counter() - t0)
    return [statistics.median(ts) for ts in times]


def median_time(fn: Callable[[], Any], steps: int, warmup: int, sync: Callable[[], None] = no_sync) -> float:
    """Median seconds of one call over `steps` timed calls, after `warmup` untimed ones."""
    return median_times([fn], steps, warmup, sync)[0]


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between ranks (NumPy's default)."""
    s = sorted(samples)
    if not s:
        return float("nan")
    x = (len(s) - 1) * q / 100.0
    lo = int(x)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (x - lo)


def percentiles(samples_ms: Sequence[float]) -> dict[str, float]:
    """n, p50, p95, mean and max of latencies in milliseconds (rounded to 0.01 ms)."""
    return {"n": len(samples_ms), "p50_ms": round(percentile(samples_ms, 50), 2),
            "p95_ms": round(percentile(samples_ms, 95), 2),
            "mean_ms": round(sum(samples_ms) / max(1, len(samples_ms)), 2),
            "max_ms": round(max(samples_ms, default=float("nan")), 2)}


def time_calls(fn: Callable[[int], Any], n: int, warmup: int = 10, start: int = 0
               ) -> tuple[list[float], list[float]]:
    """(wall ms, this thread's CPU ms) per call of fn(i) for n calls, after `warmup` untimed calls.

    CPU time leaves out the time the thread waited for a core, so it tells the cost of a render
    apart from the machine being busy with other processes.
    """
    for i in range(warmup):
        fn(start + i)
    wall, cpu = [], []
    for i in range(n):
        c0, t0 = time.thread_time(), time.perf_counter()
        fn(start + warmup + i)
        wall.append((time.perf_counter() - t0) * 1000.0)
        cpu.append((time.thread_time() - c0) * 1000.0)
    return wall, cpu
