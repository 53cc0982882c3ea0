"""Hyper-parameter presets per kind of dataset (values for `ui.jobs.TrainSpec` fields)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SMALL_SET = 1000  # below this many images, DiffAugment is the default advice
AUG = "translation,cutout,color"


@dataclass(frozen=True)
class Preset:
    name: str
    summary: str
    values: dict[str, Any] = field(default_factory=dict)


# what every preset shares; each preset below states only what differs
BASE: dict[str, Any] = dict(model="dcgan", image_size=64, loss="bce", lr_g=2e-4, lr_d=2e-4, beta1=0.5,
                            batch_size=64, steps=10000, ema=0.999, diffaug="", hflip=False, nz=100, ngf=64,
                            ndf=0, log_every=50, sample_every=500, ckpt_every=1000, aux_weight=1.0,
                            aux_real_only=False, eval_every=0, r1=0.0)
# the ACGAN objective the shipped models were trained with: D's classifier learns from real images
# only, so G cannot make its classes easy by drawing them the way D expects (see their cards)
HONEST_CLASSES = dict(aux_real_only=True)
SMALL = dict(batch_size=32, diffaug=AUG, hflip=True, log_every=25, sample_every=250, ckpt_every=500)

PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("MNIST digits", "ACGAN 32 px, BCE, Adam 2e-4 / beta1 0.5, batch 64, 5k steps, class loss x3 "
           "learnt from real digits only (the shipped model's recipe), judged every 500 steps: recognisable "
           "digits of every class in a few minutes on a CPU.",
           {**BASE, **HONEST_CLASSES, **dict(model="acgan", image_size=32, steps=5000, log_every=25,
                                             sample_every=250, ckpt_every=500, aux_weight=3.0, eval_every=500)}),
    Preset("MNIST digits (DCGAN)", "Unconditional DCGAN 32 px, D width 32, one-sided label smoothing 0.1 and "
           "an R1 penalty of 1 on real digits (the shipped mnist-dcgan's recipe), judged every 500 steps. 12k "
           "steps reached FD 0.66 here; the shipped model went on to 36k for 0.33.",
           {**BASE, **dict(image_size=32, steps=12000, ndf=32, label_smoothing=0.1, r1=1.0, log_every=100,
                           sample_every=500, ckpt_every=1000, eval_every=500)}),
    Preset("ORL faces (ACGAN)", "ACGAN 64 px, one class per person, widths 32 and identities learnt from real "
           "photos only (as the shipped faces model), DiffAugment (translation, cutout, colour) + flips and "
           "EMA 0.999: the set has only 400 photos. Judged every 500 steps.",
           {**BASE, **SMALL, **HONEST_CLASSES, **dict(model="acgan", steps=6000, ngf=32, ndf=32, eval_every=500)}),
    Preset("ORL faces (DCGAN)", "DCGAN 64 px (no identities), DiffAugment + flips, EMA 0.999.",
           {**BASE, **SMALL, **dict(steps=6000)}),
    Preset("Small set (DiffAugment)", f"For fewer than {SMALL_SET:,} images: DCGAN 64 px with DiffAugment, "
           "flips and EMA, so D cannot simply memorise the few real images.",
           {**BASE, **SMALL, **dict(steps=5000)}),
    Preset("Generic", "DCGAN 64 px, BCE, Adam 2e-4 / 0.5, batch 64, 10k steps (the DCGAN paper's recipe).",
           dict(BASE)),
    Preset("Tiny smoke test", "A tiny model (widths 8, latent 16, batch 8) that checks the whole pipeline "
           "in seconds; the pictures will not be good.",
           {**BASE, **dict(image_size=32, batch_size=8, steps=300, nz=16, ngf=8, ndf=8, log_every=5,
                           sample_every=25, ckpt_every=50)}),
)}


def suggest(dataset: str, num_images: int = 0, has_classes: bool = False) -> str:
    """The preset a dataset starts with."""
    if dataset == "mnist":
        return "MNIST digits"
    if dataset == "orl-faces":
        return "ORL faces (ACGAN)"
    if num_images and num_images < SMALL_SET:
        return "Small set (DiffAugment)"
    return "Generic"


def apply(name: str, current: dict[str, Any], has_classes: bool | None = None) -> dict[str, Any]:
    """`current` spec values overwritten by the preset (ACGAN falls back to DCGAN without classes)."""
    values = dict(current, **PRESETS[name].values)
    if has_classes is False and values.get("model") == "acgan":
        values["model"] = "dcgan"
    return values
