"""`python -m bench train --model r3gan`: the modern recipe's training step, its R1/R2 cost, and the
project's ACGAN (DCGAN without classes) step beside it.

R3GAN is trained with the automatic preset's recipe for the data (`gan_core.presets.auto`:
relativistic pairing loss, R1 = R2 penalties, EMA by half-life, ADA for small sets), at the size
and batch asked for. Its zero-centred penalties are lazy: they are computed on one D update in
`train.r1_every` (with create_graph, so that step costs several plain ones), hence three timings
taken in turns with the other model's step: a step without the penalties, a step with them (the
trainer's step counter is set so that they are, or are not, due) and the other model's step. What
training averages is the amortised step, ((r1_every - 1) x plain + penalised) / r1_every: img/s
and ms/step are of that, as the trainer's metrics see them, and the penalties' share of it is
printed. There is no seed-style R3GAN step to compare with (the tutorials have none).
"""

from __future__ import annotations

from typing import Any

from .timing import median_times, sync_for
from .train import count_step_flops, load_timed, memory_figures, plain_trainer, step_figures


def recipe_trainer(data: Any, source: str, image_size: int, batch_size: int, device: str) -> Any:
    """The project's Trainer with the automatic preset's R3GAN recipe for this data, at this size and batch."""
    from gan_core import presets
    from gan_core.config import build_run_config, fit_to_data
    from gan_core.training import Trainer

    facts = presets.DataFacts(len(data), data.num_classes, image_size)
    values = {**presets.auto(facts).values, "model.image_size": image_size, "train.batch_size": batch_size,
              "train.steps": 10**6, "train.device": device, "data.source": source}
    cfg = fit_to_data(build_run_config(values), data.channels, list(data.class_names), data.fingerprint, len(data))
    return Trainer(cfg, data.images, data.labels, None)


def bench_train_r3gan(image_size: int, batch_size: int, steps: int = 7, warmup: int = 3, threads: int = 0,
                      device: str = "auto", dataset: str | None = None) -> dict[str, Any]:
    from gan_core.device import keep_freed_memory, set_threads

    threads = set_threads(threads)
    allocator_kept = keep_freed_memory()  # as the train CLI does
    data, source, load_s = load_timed(dataset, image_size)
    trainer = recipe_trainer(data, source, image_size, batch_size, device)
    other_model = "acgan" if data.num_classes >= 2 else "dcgan"
    other = plain_trainer(other_model, data, source, batch_size, device)
    every = trainer.cfg.train.r1_every

    plain_s, penalised_s, other_s = median_times([lambda: _step_at(trainer, every, False),
                                                  lambda: _step_at(trainer, every, True), other.train_step],
                                                 steps, warmup, sync_for(trainer.device))
    step_s = ((every - 1) * plain_s + penalised_s) / every
    _due(trainer, every, False)  # torch's FlopCounterMode cannot follow autograd.grad: the plain step's FLOPs
    flops = count_step_flops(trainer)
    tc = trainer.cfg.train
    out = {"model": "r3gan", "image_size": image_size, "batch_size": batch_size, "dataset": source,
           "device": trainer.device.type, "threads": threads, "policy": trainer.policy.describe(),
           "keep_freed_memory": allocator_kept,
           "recipe": f"{tc.loss}, R1 {tc.r1_gamma:g} + R2 {tc.r2_gamma:g} every {every} D updates, "
                     f"widths {trainer.cfg.model.ngf}/{trainer.cfg.model.ndf}, "
                     + ("class-conditional" if trainer.cfg.model.conditional else "unconditional")
                     + (f", ADA target {tc.ada_target:g}" if tc.ada_target > 0 else ""),
           **step_figures(trainer, step_s, flops, plain_s),
           "flops_of": "the step without the penalties (torch's FlopCounterMode cannot count autograd.grad)",
           "plain_ms_per_step": round(plain_s * 1000, 2), "penalised_ms_per_step": round(penalised_s * 1000, 2),
           "r1_r2_share": round((penalised_s - plain_s) / every / step_s, 3),
           "vs_model": other_model, "vs_img_per_s": round(batch_size / other_s, 1),
           "vs_ms_per_step": round(other_s * 1000, 2), "cost_vs": round(step_s / other_s, 2),
           "data_load_s": round(load_s, 2), "timed_steps": steps}
    return {**out, **memory_figures(trainer.device)}


def _due(trainer: Any, every: int, penalised: bool) -> None:
    """Move the step counter on to where the lazy penalties are (or are not) due for the next step."""
    trainer.step = (trainer.step // every + 1) * every + (0 if penalised else 1)


def _step_at(trainer: Any, every: int, penalised: bool) -> Any:
    _due(trainer, every, penalised)
    return trainer.train_step()
