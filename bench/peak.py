"""`python -m bench peak`: the device's dense-math peak in GFLOP/s, fp32 and bf16."""

from __future__ import annotations

import time
from typing import Any, Callable

import torch
import torch.nn as nn

from .timing import sync_for


def measure_peak(seconds: float = 1.0, rounds: int = 3, device: torch.device | None = None) -> dict[str, float]:
    """The device's dense-math peak in GFLOP/s, fp32 and bf16 (where it has bf16): the best of a
    square matrix product (4096 on the CPU, 8192 on a GPU) and a 4x4 stride-2 convolution (the
    DCGAN layer shape), both channels_last, each the best of `rounds` timed rounds (one round
    alone read 1,550-2,470 GFLOP/s on a 2-core AMX CPU).

    3x3 convolutions are left out on purpose: oneDNN may run them as Winograd, which does fewer
    multiplications than it is credited for and reports more than the hardware can do.
    """
    from gan_core.device import native_bf16

    device = device or torch.device("cpu")
    cuda = device.type == "cuda"
    sync = sync_for(device)

    def rate(fn: Callable[[], Any], flops: float) -> float:
        fn()  # warm-up: kernel selection, allocations
        best = 0.0
        for _ in range(rounds):
            sync()
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < seconds:
                fn()
                n += 1
                if cuda and n % 8 == 0:
                    sync()  # keep the queue short, so the clock reads work done
            sync()
            best = max(best, flops * n / (time.perf_counter() - t0) / 1e9)
        return best

    n, batch = (8192, 256) if cuda else (4096, 32)
    has_bf16 = native_bf16(device)  # emulated bf16 (T4, V100) does not count
    out: dict[str, float] = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        if dtype == torch.bfloat16 and not has_bf16:
            continue
        # the CPU runs bf16 as the trainer does, through autocast; a GPU's tensors are made in it
        made = dtype if cuda else torch.float32
        a, b = (torch.randn(n, n, device=device, dtype=made) for _ in range(2))
        x = torch.randn(batch, 256, 32, 32, device=device, dtype=made).contiguous(memory_format=torch.channels_last)
        conv = nn.Conv2d(256, 512, 4, 2, 1, bias=False).to(device, made, memory_format=torch.channels_last)
        autocast = not cuda and dtype == torch.bfloat16
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            gemm = rate(lambda: a @ b, 2 * n ** 3)
            cv = rate(lambda: conv(x), 2 * batch * 256 * 512 * 16 * 16 * 16)
        out[f"{name}_gemm_gflops"], out[f"{name}_conv4x4_gflops"] = round(gemm, 1), round(cv, 1)
        out[f"{name}_gflops"] = round(max(gemm, cv), 1)
    return out
