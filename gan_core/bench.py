"""python -m gan_core.bench: measured figures, each printed next to its goal.

    train   --model {dcgan,acgan} --image-size N --batch-size N [--device auto|cpu|cuda] [--json]
            the project's real Trainer step (cached data, both updates, the trainer's own
            device/precision policy) against a plain seed-style fp32 step (Sigmoid + BCELoss,
            NCHW, as the tutorials write it) on the same device, same run, same batch, steps
            timed in turns; img/s, ms/step, peak RSS (and GPU memory), FLOPs per step and the
            share of the device's measured peak
    data    folder ingest (decode + resize into the cache) img/s, and the data share of step time
    peak    the device's matmul and conv GFLOP/s in fp32 and bf16
    render  the render service, p50/p95 per image on 1 thread, idle and while a training runs
    http    the panel's /render over raw HTTP, p50/p95, idle and while a training runs

Timings are medians over repeated steps after warm-up, the clock read only once a GPU has
finished its queued work; on a shared machine, run it alone.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .cli import positive_int, run_main

GOALS = {("dcgan", 64): 2.0, ("acgan", 32): 3.0}  # speed-up over the seed-style step
PEAK_SHARE_GOAL = 0.5
GPU_GOALS = {("dcgan", 64): 10_000}  # img/s on an H100-class GPU


def _no_sync() -> None:
    pass


def _sync_for(device: torch.device) -> Callable[[], None]:
    """What a timer must call before reading the clock: CUDA runs kernels asynchronously, so a
    step "returns" long before its work is done."""
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return _no_sync


def _median_times(fns: list[Callable[[], Any]], steps: int, warmup: int,
                  sync: Callable[[], None] = _no_sync) -> list[float]:
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


def _median_time(fn: Callable[[], Any], steps: int, warmup: int, sync: Callable[[], None] = _no_sync) -> float:
    """Median seconds of one call over `steps` timed calls, after `warmup` untimed ones."""
    return _median_times([fn], steps, warmup, sync)[0]


def _batch_fetch_time(trainer: Any) -> float:
    """Median seconds to take one batch from the trainer's decoded cache (the data share's numerator)."""
    return _median_time(lambda: trainer.batches.next(trainer.gen), 20, 3, _sync_for(trainer.device))


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# -- peak -----------------------------------------------------------------------------------
def measure_peak(seconds: float = 1.0, rounds: int = 3, device: torch.device | None = None) -> dict[str, float]:
    """The device's dense-math peak in GFLOP/s, fp32 and bf16 (where it has bf16): the best of a
    square matrix product (4096 on the CPU, 8192 on a GPU) and a 4x4 stride-2 convolution (the
    DCGAN layer shape), both channels_last, each the best of `rounds` timed rounds (one round
    alone read 1,550-2,470 GFLOP/s on a 2-core AMX CPU).

    3x3 convolutions are left out on purpose: oneDNN may run them as Winograd, which does fewer
    multiplications than it is credited for and reports more than the hardware can do.
    """
    from .device import cpu_has_bf16

    device = device or torch.device("cpu")
    cuda = device.type == "cuda"
    sync = _sync_for(device)

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
    has_bf16 = torch.cuda.is_bf16_supported() if cuda else cpu_has_bf16()
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


# -- train ----------------------------------------------------------------------------------
def _dataset_for(model: str, image_size: int) -> str:
    return "mnist" if image_size == 32 else "orl-faces"


def count_step_flops(trainer: Any) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        trainer.train_step()
    return float(counter.get_total_flops())


class _SeedStyle:
    """The step as the tutorials write it: fp32, NCHW, D ends in Sigmoid, BCELoss (and for ACGAN
    a Softmax head fed to CrossEntropyLoss), D updated then G, with the same networks' shapes."""

    def __init__(self, cfg: Any, images: np.ndarray, labels: np.ndarray, batch_size: int,
                 device: torch.device | None = None):
        from .networks import build_discriminator, build_generator, init_weights
        from .networks.acgan import ACGANGenerator

        self.cfg, self.b = cfg, batch_size
        self.device = dev = device or torch.device("cpu")
        if cfg.conditional:  # the tutorial's ACGAN generator: literal Upsample + Conv2d pairs
            self.G = ACGANGenerator(cfg, fast_layers=False)
            init_weights(self.G)
        else:
            self.G = build_generator(cfg)
        self.G, self.D = self.G.to(dev), build_discriminator(cfg).to(dev)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        # kept in host memory and moved batch by batch, as a tutorial's DataLoader loop does
        self.images = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1).contiguous()
        self.labels = torch.from_numpy(labels.astype(np.int64))
        self.bce, self.ce = nn.BCELoss(), nn.CrossEntropyLoss()

    def _d(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        adv, cls = self.D(x)
        return torch.sigmoid(adv), (F.softmax(cls, dim=1) if cls is not None else None)

    def step(self) -> None:
        cond = self.cfg.conditional
        idx = torch.randint(0, len(self.images), (self.b,))
        dev = self.device
        real, y = self.images[idx].to(dev), self.labels[idx].to(dev)
        z = torch.randn((self.b, self.cfg.nz, 1, 1) if not cond else (self.b, self.cfg.nz), device=dev)
        gy = torch.randint(0, max(1, self.cfg.num_classes), (self.b,), device=dev)
        ones, zeros = torch.ones(self.b, device=dev), torch.zeros(self.b, device=dev)
        self.D.zero_grad()
        p_real, c_real = self._d(real)
        fake = self.G(z, gy) if cond else self.G(z)
        p_fake, c_fake = self._d(fake.detach())
        loss_d = self.bce(p_real, ones) + self.bce(p_fake, zeros)
        if cond:
            loss_d = loss_d + self.ce(c_real, y) + self.ce(c_fake, gy)
        loss_d.backward()
        self.opt_d.step()
        self.G.zero_grad()
        p_gen, c_gen = self._d(fake)
        loss_g = self.bce(p_gen, ones) + (self.ce(c_gen, gy) if cond else 0.0)
        loss_g.backward()
        self.opt_g.step()


def bench_train(model: str, image_size: int, batch_size: int, steps: int = 7, warmup: int = 3,
                threads: int = 0, device: str = "auto", dataset: str | None = None) -> dict[str, Any]:
    from .config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from .data import load_dataset
    from .device import keep_freed_memory, set_threads
    from .training import Trainer

    threads = set_threads(threads)
    allocator_kept = keep_freed_memory()  # as the train CLI does
    source = dataset or _dataset_for(model, image_size)
    t0 = time.perf_counter()
    data = load_dataset(source, image_size, require_classes=model == "acgan")
    load_s = time.perf_counter() - t0
    mcfg = ModelConfig(arch=model, image_size=image_size, channels=data.channels,
                       num_classes=data.num_classes if model == "acgan" else 0)
    cfg = RunConfig(mcfg, DataConfig(source=source),
                    TrainConfig(steps=10**6, batch_size=batch_size, device=device))
    trainer = Trainer(cfg, data.images, data.labels, None)
    dev = trainer.device
    seed = _SeedStyle(mcfg, data.images, data.labels, batch_size, dev)
    med, med_seed = _median_times([trainer.train_step, seed.step], steps, warmup, _sync_for(dev))
    flops = count_step_flops(trainer)
    fetch = _batch_fetch_time(trainer)
    peak = measure_peak(device=dev)
    # the goal is a share of the bf16 peak; a CPU without native bf16 trains in fp32, so its
    # fp32 peak is the ceiling (and the seed-style step runs the same fp32 kernels)
    basis = "fp32" if trainer.policy.amp_dtype is None or "bf16_gflops" not in peak else "bf16"
    peak_ref = peak[f"{basis}_gflops"]
    out = {"model": model, "image_size": image_size, "batch_size": batch_size, "dataset": source,
           "threads": threads, "policy": trainer.policy.describe(), "keep_freed_memory": allocator_kept,
           "img_per_s": round(batch_size / med, 1), "ms_per_step": round(med * 1000, 2),
           "seed_style_img_per_s": round(batch_size / med_seed, 1),
           "seed_style_ms_per_step": round(med_seed * 1000, 2),
           "speedup": round(med_seed / med, 2), "speedup_goal": GOALS.get((model, image_size)),
           "gflop_per_step": round(flops / 1e9, 2), "achieved_gflops": round(flops / med / 1e9, 1),
           "peak": peak, "peak_basis": basis, "share_of_peak": round(flops / med / 1e9 / peak_ref, 3),
           "share_goal": PEAK_SHARE_GOAL, "data_share": round(fetch / med, 4),
           "data_load_s": round(load_s, 2), "peak_rss_mb": round(peak_rss_mb(), 1),
           "timed_steps": steps}
    if dev.type == "cuda":
        out["device_name"] = torch.cuda.get_device_name(dev)
        out["gpu_mem_peak_mb"] = round(torch.cuda.max_memory_allocated(dev) / 2**20, 1)
        out["gpu_goal_img_per_s"] = GPU_GOALS.get((model, image_size))
    if dev.type == "cpu" and trainer.policy.amp_dtype is None:
        out["note"] = ("this CPU has no native bf16, so the project's step runs fp32 (channels_last) like the "
                       "seed-style one (NCHW); "
                       "the speed-up goals were set for bf16 + channels_last and are out of reach here")
    return out


# -- data -----------------------------------------------------------------------------------
def bench_data(n_images: int = 600, size: int = 64) -> dict[str, Any]:
    """Decode + resize a folder of JPEG/PNG photos into the cache, then time cached loads."""
    from PIL import Image

    from .data import load_dataset

    rs = np.random.RandomState(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "photos"
        for c in range(3):
            (root / f"class{c}").mkdir(parents=True)
        for i in range(n_images):
            arr = (rs.rand(240, 320, 3) * 255).astype(np.uint8)
            ext = "jpg" if i % 2 else "png"
            Image.fromarray(arr).save(root / f"class{i % 3}" / f"{i}.{ext}")
        cache = Path(tmp) / "cache"
        t0 = time.perf_counter()
        load_dataset(str(root), size, cache_dir=cache)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        data = load_dataset(str(root), size, cache_dir=cache)
        cached = time.perf_counter() - t0
    share = data_share(data, size)
    return {"images": n_images, "source_size": "320x240", "image_size": size,
            "ingest_img_per_s": round(n_images / first, 1), "ingest_s": round(first, 2),
            "cached_load_s": round(cached, 3), **share}


def data_share(data: Any, size: int, batch_size: int = 64) -> dict[str, Any]:
    """Share of a DCGAN training step spent fetching the batch from the decoded cache."""
    from .config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from .training import Trainer

    cfg = RunConfig(ModelConfig(arch="dcgan", image_size=size, channels=data.channels), DataConfig(source="bench"),
                    TrainConfig(steps=10**6, batch_size=min(batch_size, len(data))))
    trainer = Trainer(cfg, data.images, data.labels, None)
    step = _median_time(trainer.train_step, 5, 2, _sync_for(trainer.device))
    fetch = _batch_fetch_time(trainer)
    return {"step_ms": round(step * 1000, 2), "batch_fetch_ms": round(fetch * 1000, 3),
            "data_share": round(fetch / step, 4)}


# -- command line ---------------------------------------------------------------------------
def _print(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
        return
    for k, v in result.items():
        print(f"{k:>24}: {v}")


def _train_text(r: dict[str, Any]) -> dict[str, Any]:
    goal = r["speedup_goal"]
    verdict = {"speedup": f"{r['speedup']}x" + (f" (goal >= {goal}x: {'met' if r['speedup'] >= goal else 'NOT met'})"
                                               if goal else ""),
               "share_of_peak": f"{r['share_of_peak']:.0%} of the {r['peak_basis']} peak (goal >= {PEAK_SHARE_GOAL:.0%}: "
                                f"{'met' if r['share_of_peak'] >= PEAK_SHARE_GOAL else 'NOT met'})",
               "data_share": f"{r['data_share']:.2%} of step time (goal <= 5%: "
                             f"{'met' if r['data_share'] <= 0.05 else 'NOT met'})"}
    if r.get("gpu_goal_img_per_s"):
        goal = r["gpu_goal_img_per_s"]
        verdict["img_per_s"] = (f"{r['img_per_s']} (GPU goal >= {goal:,} on an H100: "
                                f"{'met' if r['img_per_s'] >= goal else 'NOT met'})")
    return {**r, **verdict}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m gan_core.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    t = sub.add_parser("train", help="training step img/s vs the seed-style step")
    t.add_argument("--model", choices=("dcgan", "acgan"), required=True)
    t.add_argument("--image-size", type=int, required=True)
    t.add_argument("--batch-size", type=positive_int, default=64)
    t.add_argument("--steps", type=positive_int, default=7, help="timed steps (median)")
    t.add_argument("--threads", type=int, default=0)
    t.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="as the trainer's --device: auto takes a CUDA GPU when one is visible")
    t.add_argument("--dataset", default=None,
                   help="a built-in dataset or folder (default: mnist at 32 px, orl-faces otherwise; "
                        "its 400 photos cap the batch, so take mnist for bigger GPU batches)")
    t.add_argument("--json", action="store_true", help="one JSON object; img_per_s is the project's figure")
    d = sub.add_parser("data", help="folder ingest speed and cached loads")
    d.add_argument("--images", type=positive_int, default=600)
    d.add_argument("--json", action="store_true")
    pk = sub.add_parser("peak", help="conv GFLOP/s, fp32 and bf16")
    pk.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    pk.add_argument("--json", action="store_true")
    for name in ("render", "http"):
        sub.add_parser(name, help=f"render/http latency; options: python -m gan_core.bench {name} --help")
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("render", "http"):  # their own option parsers
        import importlib

        return int(importlib.import_module(f"gan_core.bench_{argv[0]}").main(argv[1:]) or 0)
    args = p.parse_args(argv)
    if args.what == "train":
        r = bench_train(args.model, args.image_size, args.batch_size, steps=args.steps, threads=args.threads,
                        device=args.device, dataset=args.dataset)
        _print(r if args.json else _train_text(r), args.json)
    elif args.what == "data":
        _print(bench_data(args.images), args.json)
    elif args.what == "peak":
        from .device import pick_device

        _print(measure_peak(device=pick_device(args.device)), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
