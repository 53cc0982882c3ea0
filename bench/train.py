"""`python -m bench train`: the project's training step against a seed-style step.

The project's real Trainer step (cached data, both updates, the trainer's own device/precision
policy) against a plain seed-style fp32 step (Sigmoid + BCELoss, NCHW, as the tutorials write it)
on the same device, same run, same batch, steps timed in turns; img/s, ms/step, peak RSS (and GPU
memory), FLOPs per step and the share of the device's measured peak.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from gan_core.images import from_uint8

from . import peak
from .timing import median_time, median_times, peak_rss_mb, sync_for


def batch_fetch_time(trainer: Any) -> float:
    """Median seconds to take one batch from the trainer's decoded cache (the data share's numerator)."""
    return median_time(lambda: trainer.batches.next(trainer.gen), 20, 3, sync_for(trainer.device))


def default_dataset(image_size: int) -> str:
    """The built-in dataset a size is timed on unless --dataset says otherwise."""
    return "mnist" if image_size == 32 else "orl-faces"


def count_step_flops(trainer: Any) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        trainer.train_step()
    return float(counter.get_total_flops())


class SeedStyle:
    """The step as the tutorials write it: fp32, NCHW, D ends in Sigmoid, BCELoss (and for ACGAN
    a Softmax head fed to CrossEntropyLoss), D updated then G, with the same networks' shapes."""

    def __init__(self, cfg: Any, images: np.ndarray, labels: np.ndarray, batch_size: int,
                 device: torch.device | None = None):
        from gan_core.networks import build_discriminator, build_generator, init_weights
        from gan_core.networks.acgan import ACGANGenerator

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
        self.images = from_uint8(torch.from_numpy(images).permute(0, 3, 1, 2)).contiguous()
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
    from gan_core.device import keep_freed_memory, set_threads

    threads = set_threads(threads)
    allocator_kept = keep_freed_memory()  # as the train CLI does
    data, source, load_s = load_timed(dataset, image_size, require_classes=model == "acgan")
    trainer = plain_trainer(model, data, source, batch_size, device)
    dev = trainer.device
    seed = SeedStyle(trainer.cfg.model, data.images, data.labels, batch_size, dev)
    med, med_seed = median_times([trainer.train_step, seed.step], steps, warmup, sync_for(dev))
    out = {"model": model, "image_size": image_size, "batch_size": batch_size, "dataset": source,
           "device": dev.type, "threads": threads, "policy": trainer.policy.describe(),
           "keep_freed_memory": allocator_kept,
           **step_figures(trainer, med, count_step_flops(trainer)),
           "seed_style_img_per_s": round(batch_size / med_seed, 1),
           "seed_style_ms_per_step": round(med_seed * 1000, 2), "speedup": round(med_seed / med, 2),
           "data_load_s": round(load_s, 2), "timed_steps": steps}
    return {**out, **memory_figures(dev)}


def load_timed(dataset: str | None, image_size: int, require_classes: bool = False) -> tuple[Any, str, float]:
    """(the decoded data, its source, seconds to load it): `dataset`, or the size's default."""
    from gan_core.data import load_dataset

    source = dataset or default_dataset(image_size)
    t0 = time.perf_counter()
    data = load_dataset(source, image_size, require_classes=require_classes)
    return data, source, time.perf_counter() - t0


def plain_trainer(model: str, data: Any, source: str, batch_size: int, device: str) -> Any:
    """The project's Trainer for `model` with the model's default settings (no run folder)."""
    from gan_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from gan_core.training import Trainer

    mcfg = ModelConfig(arch=model, image_size=int(data.images.shape[1]), channels=data.channels,
                       num_classes=data.num_classes if model == "acgan" else 0)
    cfg = RunConfig(mcfg, DataConfig(source=source), TrainConfig(steps=10**6, batch_size=batch_size, device=device))
    return Trainer(cfg, data.images, data.labels, None)


def step_figures(trainer: Any, step_s: float, flops: float, flops_s: float | None = None) -> dict[str, Any]:
    """What one training step of `step_s` seconds comes to: img/s, ms/step, the share of the
    device's measured peak (`flops` FLOPs in `flops_s` seconds, by default the step's) and the
    share of the step spent fetching its batch."""
    dev = trainer.device
    flops_s = flops_s or step_s
    fetch = batch_fetch_time(trainer)
    peaks = peak.measure_peak(device=dev)
    # the share is of the bf16 peak; a CPU without native bf16 trains in fp32, so its fp32 peak
    # is the ceiling (and the seed-style step runs the same fp32 kernels)
    basis = "fp32" if trainer.policy.amp_dtype is None or "bf16_gflops" not in peaks else "bf16"
    return {"img_per_s": round(trainer.batch_size / step_s, 1), "ms_per_step": round(step_s * 1000, 2),
            "gflop_per_step": round(flops / 1e9, 2), "achieved_gflops": round(flops / flops_s / 1e9, 1),
            "peak": peaks, "peak_basis": basis,
            "share_of_peak": round(flops / flops_s / 1e9 / peaks[f"{basis}_gflops"], 3),
            "data_share": float(f"{fetch / step_s:.3g}")}


def memory_figures(dev: torch.device) -> dict[str, Any]:
    """Peak RSS, and on a GPU its name and peak allocated memory."""
    out: dict[str, Any] = {"peak_rss_mb": round(peak_rss_mb(), 1)}
    if dev.type == "cuda":
        out["device_name"] = torch.cuda.get_device_name(dev)
        out["gpu_mem_peak_mb"] = round(torch.cuda.max_memory_allocated(dev) / 2**20, 1)
    return out
