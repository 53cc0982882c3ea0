"""`python -m bench data`: folder ingest speed, cached loads, and the data share of a step."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from .timing import median_time, sync_for
from .train import batch_fetch_time


def bench_data(n_images: int = 600, size: int = 64) -> dict[str, Any]:
    """Decode + resize a folder of JPEG/PNG photos into the cache, then time cached loads."""
    from PIL import Image

    from gan_core.data import load_dataset

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
    from gan_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from gan_core.training import Trainer

    cfg = RunConfig(ModelConfig(arch="dcgan", image_size=size, channels=data.channels), DataConfig(source="bench"),
                    TrainConfig(steps=10**6, batch_size=min(batch_size, len(data))))
    trainer = Trainer(cfg, data.images, data.labels, None)
    step = median_time(trainer.train_step, 5, 2, sync_for(trainer.device))
    fetch = batch_fetch_time(trainer)
    return {"step_ms": round(step * 1000, 2), "batch_fetch_ms": round(fetch * 1000, 3),
            "data_share": float(f"{fetch / step:.3g}")}  # 3 significant figures: a share near 0.0001 must not round to 0
