"""Training presets: named partial RunConfigs (options by dotted name), shared by the trainer's
`--preset` flag and the Train page, and the rule that suggests one for a dataset.

A preset states only what differs from the RunConfig defaults; applying one to a form first
resets every recipe option (all but the machine and run options in `KEEP`) to its default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .config import options
from .errors import ConfigError

SMALL_SET = 1000  # below this many images, DiffAugment is the default advice
AUG = "translation,cutout,color"
# options a preset never changes: what to train on, where, how long in minutes, which seed
KEEP = ("data.source", "train.device", "train.precision", "train.threads", "train.seed", "train.minutes")


@dataclass(frozen=True)
class Preset:
    name: str
    summary: str
    values: dict[str, Any] = field(default_factory=dict)  # options by dotted name ("train.lr_g")


# the ACGAN objective the shipped models were trained with: D's classifier learns from real images
# only, so G cannot make its classes easy by drawing them the way D expects (see their cards)
HONEST_CLASSES = {"train.aux_on_fake": False}
SMALL = {"train.batch_size": 32, "train.diffaug": AUG, "data.hflip": True, "train.log_every": 25,
         "train.sample_every": 250, "train.ckpt_every": 500}


def _model(arch: str, size: int) -> dict[str, Any]:
    return {"model.arch": arch, "model.image_size": size}


def _labelled(size: int, small: bool) -> Preset:
    """A class-conditional preset for an uploaded set sorted into one subfolder per class."""
    name = f"{'Small labelled' if small else 'Labelled'} set (ACGAN {size} px{', DiffAugment' if small else ''})"
    summary = (f"Class-conditional ACGAN {size} px for pictures sorted into one subfolder per class; the class "
               "loss learns from real images only"
               + (f". For fewer than {SMALL_SET:,} images: DiffAugment and flips." if small else "."))
    return Preset(name, summary, {**_model("acgan", size), **HONEST_CLASSES, **(SMALL if small else {})})


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("MNIST digits", "ACGAN 32 px, BCE, Adam 2e-4 / beta1 0.5, batch 64, 5k steps, class loss x3 learnt "
           "from real digits only (the shipped model's recipe), judged every 500 steps.",
           {**_model("acgan", 32), **HONEST_CLASSES, "train.steps": 5000, "train.log_every": 25,
            "train.sample_every": 250, "train.ckpt_every": 500, "train.aux_weight": 3.0, "train.eval_every": 500}),
    Preset("MNIST digits (DCGAN)", "Unconditional DCGAN 32 px, D width 32, one-sided label smoothing 0.1 and "
           "an R1 penalty of 1 on real digits (the shipped mnist-dcgan's recipe), 12k steps, judged every "
           "500 steps; its model card has the scores.",
           {**_model("dcgan", 32), "train.steps": 12000, "model.ndf": 32, "train.label_smoothing": 0.1,
            "train.r1_gamma": 1.0, "train.log_every": 100, "train.eval_every": 500}),
    Preset("ORL faces (ACGAN)", "ACGAN 64 px, one class per person, widths 32 and identities learnt from real "
           "photos only (as the shipped faces model), DiffAugment (translation, cutout, colour) + flips and "
           "EMA 0.999: the set has only 400 photos. Judged every 500 steps.",
           {**_model("acgan", 64), **SMALL, **HONEST_CLASSES, "train.steps": 6000, "model.ngf": 32,
            "model.ndf": 32, "train.eval_every": 500}),
    Preset("ORL faces (DCGAN)", "DCGAN 64 px (no identities), DiffAugment + flips, EMA 0.999.",
           {**_model("dcgan", 64), **SMALL, "train.steps": 6000}),
    *(_labelled(size, small) for small in (False, True) for size in (32, 64)),
    Preset("Small set (DiffAugment)", f"For fewer than {SMALL_SET:,} images: DCGAN 64 px with DiffAugment, "
           "flips and EMA, so D cannot simply memorise the few real images.",
           {**_model("dcgan", 64), **SMALL, "train.steps": 5000}),
    Preset("Generic", "DCGAN 64 px, BCE, Adam 2e-4 / 0.5, batch 64, 10k steps (the DCGAN paper's recipe).",
           _model("dcgan", 64)),
    Preset("Tiny smoke test", "A tiny model (widths 8, latent 16, batch 8) that checks the whole pipeline "
           "in seconds; the pictures will not be good.",
           {**_model("dcgan", 32), "train.batch_size": 8, "train.steps": 300, "model.nz": 16, "model.ngf": 8,
            "model.ndf": 8, "train.log_every": 5, "train.sample_every": 25, "train.ckpt_every": 50}),
)}


def get(name: str) -> Preset:
    """The preset called `name`; ConfigError listing the names otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; choose from: {'; '.join(PRESETS)}", field="preset") from None


def typical_side(sizes: dict[str, int]) -> int:
    """The longer side of the most common original image size ({"28x28": 60000} -> 28); 0 if unknown."""
    best = max(sizes.items(), key=lambda kv: kv[1], default=None) if sizes else None
    try:
        return max(int(v) for v in best[0].lower().split("x")) if best else 0
    except ValueError:
        return 0


def suggest(dataset: str, num_images: int = 0, num_classes: int = 0, image_side: int = 0) -> str:
    """The preset a dataset starts with. Labelled sets (>= 2 classes) get a class-conditional
    preset whose size follows their pictures (<= 32 px: 32, else 64); small sets (fewer than
    SMALL_SET images) get DiffAugment."""
    if dataset == "mnist":
        return "MNIST digits"
    if dataset == "orl-faces":
        return "ORL faces (ACGAN)"
    if num_classes >= 2:
        small = 0 < num_images < SMALL_SET
        return _labelled(32 if 0 < image_side <= 32 else 64, small).name
    if num_images and num_images < SMALL_SET:
        return "Small set (DiffAugment)"
    return "Generic"


def apply(name: str, current: dict[str, Any], has_classes: bool | None = None) -> dict[str, Any]:
    """`current` options with every recipe option reset to its default, then the preset's values
    (an ACGAN preset becomes DCGAN when the data is known to have no classes)."""
    values = dict(current)
    values.update({o.key: o.default for o in options() if o.key not in KEEP})
    values.update(get(name).values)
    if has_classes is False and values.get("model.arch") == "acgan":
        values["model.arch"] = "dcgan"
    return values

