"""Typed configuration, saved as JSON beside weights and in every run directory.

A checkpoint rebuilds its networks from `ModelConfig` alone; a run resumes from `RunConfig`
alone. Unknown keys and bad values raise `ConfigError` with the field named (`.field`).

`RunConfig` is the one description of a run. Each user-settable field carries its help text,
choices and whether a resume may change it in its metadata (`option`); the trainer's flags
(gan_core.cli.add_config_flags), the presets (gan_core.presets) and the Train page all work
with these options by dotted name ("train.lr_g") and make a config with `build_run_config`.
Adding a hyper-parameter is one field here (plus a widget on the Train page if it needs one).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from . import formats
from .errors import ConfigError
from .schedule import PLATEAU_GAIN, PLATEAU_NEAR

FORMAT_VERSION = 3  # of a run's config.json; bump it with a MIGRATIONS entry from the previous one

# The choice lists: the one home of each (the trainer's flags, the Train page and the presets use these)
ARCHS = ("dcgan", "acgan", "r3gan")
DCGAN_SIZES = (32, 64, 96, 128)
ACGAN_SIZES = (32, 64)
R3GAN_SIZES = (32, 64, 128)
IMAGE_SIZES = {"dcgan": DCGAN_SIZES, "acgan": ACGAN_SIZES, "r3gan": R3GAN_SIZES}
LOSSES = ("bce", "hinge", "lsgan", "wgan-gp", "rpgan")
D_NORMS = ("batch", "layer", "none")
G_UPSAMPLES = ("bilinear", "conv")  # r3gan's stage transitions (ModelConfig.g_upsample)
R3GAN_G_UPSAMPLE = "bilinear"  # its default, the only value the other archs accept
G_OUTPUTS = ("tanh", "linear")  # r3gan's last layer (ModelConfig.g_output)
R3GAN_G_OUTPUT = "tanh"  # its default; the other archs' generators end in tanh, so it is the only value they accept
DIFFAUG_OPS = ("translation", "cutout", "color")
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
DATA_CHANNELS = (0, 1, 3)
PACKS = (1, 2, 4)  # r3gan D's group sizes (ModelConfig.d_pack): powers of two, so each mode-seeking pair is in one group
R3GAN_MIN_WIDTH = 16  # the r3gan stages' channel floor unless model.min_width says otherwise
# the options only an R3GAN model reads (ModelConfig refuses any but their defaults for the other archs)
R3GAN_ONLY = ("model.d_mbstd", "model.min_width", "train.aux_in_g", "model.g_upsample", "model.g_output",
              "model.d_pack")

T = TypeVar("T")


def option(default: Any, help: str, *, choices: tuple[Any, ...] = (), resume: bool = False,
           aliases: tuple[str, ...] = (), off_aliases: tuple[str, ...] = (), default_text: str = "") -> Any:
    """A user-settable field. Its metadata is all the trainer's command line needs: the flag is
    `--` + the field's name with dashes (plus `aliases`), `help` and `choices` come from here, and
    `resume` marks the fields a resumed run may change (the others are fixed once a run exists).
    A switch (bool) gets `--name/--no-name`; `off_aliases` are older spellings of `--no-name`.
    `default_text` replaces the default shown in --help when the default is decided later ("-": none)."""
    md = {"help": help, "choices": tuple(choices), "resume": resume, "aliases": tuple(aliases),
          "off_aliases": tuple(off_aliases), "default_text": default_text}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=md)
    return field(default=default, metadata=md)


def derived(default: Any, help: str) -> Any:
    """A field filled in from the data when it is loaded (no flag, no widget)."""
    md = {"help": help, "derived": True}
    if isinstance(default, list):
        return field(default_factory=list, metadata=md)
    return field(default=default, metadata=md)


def _need(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise ConfigError(message, field=key)


@dataclass
class ModelConfig:
    """Everything needed to rebuild a generator/discriminator pair."""

    arch: str = option("dcgan", "dcgan (unconditional), acgan (class-conditional) or r3gan (modern residual "
                       "nets; class-conditional when the data has classes)", choices=ARCHS,
                       aliases=("--model",))
    image_size: int = option(64, "image side in px; dcgan: 32, 64, 96, 128; acgan: 32, 64; r3gan: 32, 64, 128",
                             choices=tuple(sorted(set(DCGAN_SIZES) | set(ACGAN_SIZES))),
                             default_text="32 for mnist, else 64")
    channels: int = derived(3, "1 grey or 3 colour, from the data")
    nz: int = option(100, "latent size")
    ngf: int = option(64, "generator width")
    ndf: int = option(0, "discriminator width; 0 = the arch's default", default_text="dcgan 64, acgan 16, r3gan 64")
    num_classes: int = derived(0, "classes of a conditional model, from the data (0: unconditional)")
    class_names: list[str] = derived([], "the classes' names, from the data")
    d_norm: str = option("batch", "discriminator normalisation", choices=D_NORMS,
                         default_text="batch; layer for wgan-gp")
    d_mbstd: int = option(0, "r3gan: minibatch standard deviation in D over groups of this many images "
                          "(StyleGAN's guard against collapse; it lets D see how alike the images in a group "
                          "are); 0 = off; a batch it does not divide uses the largest group that does",
                          default_text="0 (the automatic preset leaves it off)")
    d_pack: int = option(1, "r3gan: D judges groups of this many images at once, stacked along the channels "
                         "(PacGAN): alike pictures for different z stand out, and each D step costs about "
                         "1/d_pack as much; for a labelled set each group is of one class",
                         choices=PACKS, default_text="1 (the automatic preset: 2 for a labelled set at 32 px)")
    min_width: int = option(R3GAN_MIN_WIDTH, "r3gan: the fewest channels a stage has; the stages above 16 px halve their "
                            "width per doubling down to this floor, so it sets how much the 32, 64 and 128 px "
                            "stages can draw (and what they cost)")
    g_upsample: str = option(R3GAN_G_UPSAMPLE, "r3gan: how G's stages double the resolution: bilinear = a 1x1 conv to the "
                             "next width, then bilinear 2x; conv = nearest 2x and a 3x3 conv (one stride-2 "
                             "transposed conv): more learnt per step and no wavy outlines on faces, but slower "
                             "steps on a CPU and a grid texture (figures: gan_core/networks/r3gan.py)",
                             choices=G_UPSAMPLES)
    g_output: str = option(R3GAN_G_OUTPUT, "r3gan: G's last layer: tanh = the image squashed into [-1, 1], so "
                           "flat areas and hard edges come easily; linear = R3GAN's unbounded image, clamped only "
                           "when turned into pixels (figures: gan_core/networks/r3gan.py)", choices=G_OUTPUTS)

    def __post_init__(self) -> None:
        _need(self.arch in ARCHS, "model.arch", f"model.arch must be one of {', '.join(ARCHS)}, got {self.arch!r}")
        sizes = IMAGE_SIZES[self.arch]
        _need(self.image_size in sizes, "model.image_size",
              f"{self.arch} supports image sizes {', '.join(map(str, sizes))}; got {self.image_size}")
        _need(self.channels in (1, 3), "model.channels", f"model.channels must be 1 or 3, got {self.channels}")
        for name in ("nz", "ngf"):
            _need(1 <= getattr(self, name) <= 4096, f"model.{name}",
                  f"model.{name} must be between 1 and 4096, got {getattr(self, name)}")
        if self.ndf == 0:
            self.ndf = 64 if self.arch in ("dcgan", "r3gan") else 16
        _need(1 <= self.ndf <= 4096, "model.ndf", f"model.ndf must be between 1 and 4096, got {self.ndf}")
        _need(0 <= self.d_mbstd <= 64 and self.d_mbstd != 1, "model.d_mbstd",
              f"model.d_mbstd must be 0 (off) or a group size from 2 to 64, got {self.d_mbstd}")
        _need(self.d_mbstd == 0 or self.arch == "r3gan", "model.d_mbstd",
              f"model.d_mbstd is an r3gan option; {self.arch} has no minibatch standard deviation")
        _need(self.d_pack in PACKS, "model.d_pack",
              f"model.d_pack must be one of {', '.join(map(str, PACKS))}, got {self.d_pack}")
        _need(self.d_pack == 1 or self.arch == "r3gan", "model.d_pack",
              f"model.d_pack is an r3gan option; {self.arch}'s discriminator judges one image at a time")
        _need(1 <= self.min_width <= 4096, "model.min_width",
              f"model.min_width must be between 1 and 4096, got {self.min_width}")
        _need(self.min_width == R3GAN_MIN_WIDTH or self.arch == "r3gan", "model.min_width",
              f"model.min_width is an r3gan option; {self.arch} sets its widths from ngf and ndf alone")
        _need(self.g_upsample in G_UPSAMPLES, "model.g_upsample",
              f"model.g_upsample must be one of {', '.join(G_UPSAMPLES)}, got {self.g_upsample!r}")
        _need(self.g_upsample == R3GAN_G_UPSAMPLE or self.arch == "r3gan", "model.g_upsample",
              f"model.g_upsample is an r3gan option; {self.arch} upsamples its own way")
        _need(self.g_output in G_OUTPUTS, "model.g_output",
              f"model.g_output must be one of {', '.join(G_OUTPUTS)}, got {self.g_output!r}")
        _need(self.g_output == R3GAN_G_OUTPUT or self.arch == "r3gan", "model.g_output",
              f"model.g_output is an r3gan option; {self.arch}'s generator ends in tanh")
        _need(self.d_norm in D_NORMS, "model.d_norm",
              f"model.d_norm must be one of {', '.join(D_NORMS)}, got {self.d_norm!r}")
        _need(self.arch != "acgan" or self.num_classes >= 2, "model.num_classes",
              f"acgan needs at least 2 classes, got {self.num_classes}")
        _need(self.arch != "dcgan" or self.num_classes == 0, "model.num_classes",
              "dcgan is unconditional: num_classes must be 0")
        _need(not self.class_names or len(self.class_names) == self.num_classes, "model.class_names",
              f"model.class_names has {len(self.class_names)} names for {self.num_classes} classes")
        if not self.class_names and self.num_classes:
            self.class_names = [str(i) for i in range(self.num_classes)]

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0


@dataclass
class DataConfig:
    source: str = option("mnist", "required for a new run: a built-in name (mnist, orl-faces), an image folder "
                         "(subfolders = classes) or a .zip of one", aliases=("--dataset",), default_text="-")
    channels: int = option(0, "1 grey or 3 colour; 0 = from the data", choices=DATA_CHANNELS)
    hflip: bool = option(False, "random horizontal flips")
    use_classes: bool = option(True, "r3gan: a class-conditional model when the data has class folders; "
                               "--no-use-classes trains it unconditionally")
    fingerprint: str = derived("", "the data's fingerprint; resume refuses a different dataset")
    num_images: int = derived(0, "images in the data")


@dataclass
class TrainConfig:
    steps: int = option(10_000, "total generator updates", resume=True)
    # a time budget for one session of the trainer (a resume starts a new one); 0 = none
    minutes: float = option(0.0, "stop cleanly after this many minutes of training (data loading not "
                            "counted), with a checkpoint; 0 (given or not) = no time limit; negative values "
                            "are refused", resume=True)
    batch_size: int = option(64, "images per step")
    loss: str = option("bce", "adversarial loss (bce is the non-saturating one)", choices=LOSSES)
    lr_g: float = option(2e-4, "generator learning rate (overrides --lr)")
    lr_d: float = option(2e-4, "discriminator learning rate (overrides --lr)")
    beta1: float = option(0.5, "Adam beta1")
    beta2: float = option(0.999, "Adam beta2")
    n_critic: int = option(0, "D updates per G update; 0 = the loss's default", default_text="5 for wgan-gp, else 1")
    gp_weight: float = option(10.0, "WGAN-GP penalty weight")
    # R1 (Mescheder et al. 2018): gamma/2 * E||grad_x D(x)||^2 on real images, computed every
    # r1_every D updates and scaled by it (lazy regularisation, Karras et al. 2020); 0 = off
    r1_gamma: float = option(0.0, "R1 penalty weight gamma on real images (Mescheder et al. 2018); 0 = off",
                             aliases=("--r1",))
    r1_every: int = option(16, "apply R1 every N D updates, scaled by N")
    r2_gamma: float = option(0.0, "R2 penalty weight gamma on generated images (zero-centred, as R1); 0 = off")
    mode_seeking: float = option(0.0, "class-conditional models: weight of the mode-seeking term (MSGAN, Mao et al. "
                                 "2019): fakes come in pairs of one class, and G is penalised by 1 / (the pair's "
                                 "image distance / latent distance), so it cannot draw one picture per class and "
                                 "ignore z; 0 = off", default_text="0; on in the automatic preset for labelled sets")
    aux_weight: float = option(1.0, "ACGAN class-loss weight")
    # ACGAN: D's classifier also learns the classes of generated images (Odena et al. 2017).
    # False trains it on real images only, so G must satisfy a classifier of real data.
    aux_on_fake: bool = option(True, "ACGAN: D's classifier also learns from generated images, as in the "
                               "ACGAN paper; --no-aux-on-fake (alias --aux-real-only) keeps it to real images, "
                               "which keeps G honest about classes on small datasets",
                               off_aliases=("--aux-real-only",))
    # r3gan: G may leave the classes to the projection discriminator alone; ACGAN's G needs the term
    aux_in_g: bool = option(True, "class-conditional models: G is also trained to make D's class scores read the "
                            "class it was asked for (the ACGAN generator term); r3gan only: --no-aux-in-g leaves "
                            "the classes to its projection discriminator (the automatic preset keeps it on)")
    # the end of a run anneals (gan_core.schedule): constant, then a cosine down over the last lr_decay
    # share of the run (of its steps, or of the time budget when that ends it first; steps alone under torchrun)
    lr_decay: float = option(0.0, "decay both learning rates over this last share of the run (of its steps, or "
                             "of the time budget when that ends it first), by half a cosine down to --lr-final "
                             "x their values; 0 = constant; a resume with a time budget decays again at its end",
                             default_text="0 (constant); on in the automatic preset", resume=True)
    lr_final: float = option(0.1, "with --lr-decay: the learning rates' multiplier at the end of the run",
                             resume=True)
    lr_decay_plateau: bool = option(False, "with --lr-decay: the decay waits for the judge (--eval-every) to find "
                                    f"the FD no longer falling (not {PLATEAU_GAIN * 100:g} percent below its best so far) "
                                    f"within {PLATEAU_NEAR:g}x the real-vs-real baseline, then "
                                    "runs from there, or from the last --lr-decay share if that is later, to the end; "
                                    "while the FD keeps falling the rates stay constant", resume=True)
    lr_decay_last: float = option(0.0, "with --lr-decay-plateau: the rates fall over at least this last share "
                                  "of the run even when the judge finds no plateau (capped at --lr-decay); 0 = only "
                                  "after a plateau", default_text="0; by image size in the automatic preset", resume=True)
    ema: float = option(0.999, "EMA decay of the generator copy; 0 disables")
    ema_start: int = option(0, "step from which the EMA starts averaging (it copies G before)")
    ema_halflife_kimg: float = option(0.0, "EMA half-life in thousands of images seen (replaces --ema's decay "
                                      "when above 0)")
    diffaug: str = option("", "DiffAugment ops for small sets, comma-separated: translation,cutout,color",
                          default_text="none")
    label_smoothing: float = option(0.0, "one-sided label smoothing: real target 1 - s (bce only)")
    ada_target: float = option(0.0, "adaptive augmentation: target of the sign of D's outputs on real images "
                               "(e.g. 0.6); the augmentation probability p follows it; 0 = off")
    device: str = option("auto", "where to train", choices=DEVICES, resume=True)
    precision: str = option("auto", "auto: bf16 autocast on CPUs with bf16 and on CUDA, else fp32",
                            choices=PRECISIONS, resume=True)
    threads: int = option(0, "CPU threads; 0 = OMP_NUM_THREADS if set, else the cores this process may use (container quota), shared among torchrun's processes", resume=True)
    seed: int = option(0, "random seed")
    log_every: int = option(50, "metrics row every N steps", resume=True)
    sample_every: int = option(500, "fixed-noise grid every N steps", resume=True)
    ckpt_every: int = option(1000, "checkpoint every N steps", resume=True)
    eval_every: int = option(0, "light evaluation (judge FD, class consistency on 1000 samples) every N steps; "
                             "other datasets than mnist and orl-faces get a judge trained on their own images "
                             "(once, cached; before the clock starts) or, unlabelled, a label-free embedding; "
                             "picks the best checkpoint; 0 = off", resume=True)
    # the regular judgements follow the planned steps, which a time budget may cut short: the decay
    # (and a stop) are judged too, so `best` (the run's result) is picked from the run's end as well
    eval_decay: int = option(0, "with --eval-every and a learning-rate decay: this many judgements more, spread "
                             "evenly over the decay, so the best checkpoint is picked from where the run ends; "
                             "0 = every --eval-every steps only", default_text="0; 12 in the automatic preset",
                             resume=True)
    guard: bool = option(False, "the training guard (gan_core.guard): keep the last healthy checkpoints and, on a "
                         "named failure (NaN, divergence, D overpowering, collapse, memorising), roll back and apply "
                         "a named remedy, logged to events.jsonl; stop with a reason when rescues fail", resume=True)

    def __post_init__(self) -> None:
        for name, choices in (("loss", LOSSES), ("device", DEVICES), ("precision", PRECISIONS)):
            _need(getattr(self, name) in choices, f"train.{name}",
                  f"train.{name} must be one of {', '.join(choices)}, got {getattr(self, name)!r}")
        for name in ("steps", "batch_size", "log_every", "sample_every", "ckpt_every", "r1_every"):
            _need(getattr(self, name) >= 1, f"train.{name}",
                  f"train.{name} must be at least 1, got {getattr(self, name)}")
        for name, what in (("eval_every", "0 (off) or positive"), ("eval_decay", "0 (off) or positive"),
                           ("minutes", "0 (no time limit) or positive"),
                           ("threads", "0 (automatic) or positive"), ("ema_start", "0 or positive"),
                           ("aux_weight", "0 or positive"), ("gp_weight", "0 or positive")):
            _need(getattr(self, name) >= 0, f"train.{name}", f"train.{name} must be {what}, got {getattr(self, name)}")
        if self.n_critic == 0:
            self.n_critic = 5 if self.loss == "wgan-gp" else 1
        _need(self.n_critic >= 1, "train.n_critic", f"train.n_critic must be at least 1, got {self.n_critic}")
        _need(self.r1_gamma >= 0.0, "train.r1_gamma",
              f"train.r1_gamma must be 0 (off) or positive, got {self.r1_gamma}")
        _need(not (self.r1_gamma > 0.0 and self.loss == "wgan-gp"), "train.r1_gamma",
              "train.r1_gamma: wgan-gp already has its own gradient penalty; use one or the other")
        _need(0.0 <= self.ema < 1.0, "train.ema", f"train.ema must be in [0, 1), got {self.ema}")
        _need(self.mode_seeking >= 0.0, "train.mode_seeking",
              f"train.mode_seeking must be 0 (off) or positive, got {self.mode_seeking}")
        _need(self.r2_gamma >= 0.0, "train.r2_gamma", f"train.r2_gamma must be 0 (off) or positive, got {self.r2_gamma}")
        _need(self.ema_halflife_kimg >= 0.0, "train.ema_halflife_kimg",
              f"train.ema_halflife_kimg must be 0 (off) or positive, got {self.ema_halflife_kimg}")
        _need(0.0 <= self.ada_target < 1.0, "train.ada_target",
              f"train.ada_target must be in [0, 1) (0 = off), got {self.ada_target}")
        _need(0.0 <= self.lr_decay <= 1.0, "train.lr_decay",
              f"train.lr_decay is a share of the run, in [0, 1] (0 = constant), got {self.lr_decay}")
        _need(0.0 <= self.lr_decay_last <= 1.0, "train.lr_decay_last",
              f"train.lr_decay_last is a share of the run, in [0, 1] (0 = only after a plateau), got {self.lr_decay_last}")
        _need(0.0 < self.lr_final <= 1.0, "train.lr_final",
              f"train.lr_final is the learning rates' end multiplier, in (0, 1], got {self.lr_final}")
        _need(0.0 <= self.label_smoothing < 0.5, "train.label_smoothing",
              f"train.label_smoothing must be in [0, 0.5), got {self.label_smoothing}")
        for name in ("lr_g", "lr_d"):
            _need(0.0 < getattr(self, name) < 1.0, f"train.{name}",
                  f"train.{name} must be in (0, 1), got {getattr(self, name)}")
        for name in ("beta1", "beta2"):
            _need(0.0 <= getattr(self, name) < 1.0, f"train.{name}",
                  f"train.{name} must be in [0, 1), got {getattr(self, name)}")
        bad = [op for op in self.diffaug_ops if op not in DIFFAUG_OPS]
        _need(not bad, "train.diffaug",
              f"unknown DiffAugment op {bad[0]!r}; choose from {', '.join(DIFFAUG_OPS)}" if bad else "")

    @property
    def lr_decay_last_share(self) -> float:
        return decay_last_share(self.lr_decay_last, self.lr_decay)

    @property
    def diffaug_ops(self) -> list[str]:
        return [op.strip() for op in self.diffaug.split(",") if op.strip()]


def decay_last_share(lr_decay_last: float, lr_decay: float) -> float:
    """The last share of the run that decays even without a plateau: lr_decay_last, capped at lr_decay
    (TrainConfig.lr_decay_last_share; model cards read recorded settings through it too)."""
    return min(lr_decay_last, lr_decay)


SECTIONS: dict[str, type] = {"model": ModelConfig, "data": DataConfig, "train": TrainConfig}


def model_from_v1(raw: dict[str, Any]) -> dict[str, Any]:
    """Format 1 -> 2 of a file holding a "model" section (a run's or a checkpoint's config.json):
    an r3gan generator written before `g_upsample` existed upsampled the "bilinear" way, so its
    section now says so; anything else is left as it is."""
    model = raw.get("model")
    if isinstance(model, dict) and model.get("arch") == "r3gan" and "g_upsample" not in model:
        return {**raw, "model": {**model, "g_upsample": "bilinear"}}
    return raw


def model_from_v2(raw: dict[str, Any]) -> dict[str, Any]:
    """Format 2 -> 3 (as `model_from_v1`): an r3gan generator written before `g_output` existed
    drew its image with a linear last layer, so its section now says "linear"."""
    model = raw.get("model")
    if isinstance(model, dict) and model.get("arch") == "r3gan" and "g_output" not in model:
        return {**raw, "model": {**model, "g_output": "linear"}}
    return raw


# version n -> a function returning a version-n run config dict as version n + 1 (formats.upgrade)
MIGRATIONS: dict[int, formats.Migration] = {1: model_from_v1, 2: model_from_v2}


@dataclass
class Lineage:
    """Where a branch run came from (gan_core.lineage): the parent run's folder name and the step of
    the parent's checkpoint it starts from; empty for a run started from scratch. Not an option.
    An optional section: a config.json without it (older files) reads as no parent, and an older
    reader ignores it, so the format version stays."""

    parent: str = ""
    parent_step: int = 0
    parent_checkpoint: str = ""  # which of the parent's checkpoints ("latest", "ring/step_000400", ...)


@dataclass
class RunConfig:
    model: ModelConfig
    data: DataConfig
    train: TrainConfig
    version: int = FORMAT_VERSION
    lineage: Lineage = field(default_factory=Lineage)

    def __post_init__(self) -> None:
        _need(self.model.arch != "acgan" or self.train.aux_weight > 0, "train.aux_weight",
              "the ACGAN class-loss weight must be above 0 (1 is the paper's)")
        _need(self.model.arch != "acgan" or self.train.aux_in_g, "train.aux_in_g",
              "train.aux_in_g: an ACGAN generator learns its classes only through the class loss; "
              "it can be left off for r3gan, whose projection discriminator reads the classes")
        _need(self.train.batch_size % self.model.d_pack == 0, "train.batch_size",
              f"the batch of {self.train.batch_size} cannot be cut into D's groups of {self.model.d_pack} "
              "(model.d_pack): choose a batch it divides")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunConfig":
        if not isinstance(d, dict):
            raise ConfigError("run config must be a JSON object")
        d = formats.upgrade(d, FORMAT_VERSION, MIGRATIONS, "this run's config.json")
        for key in ("model", "data", "train"):
            if key not in d:
                raise ConfigError(f"run config has no '{key}' section", field=key)
        return cls(
            model=from_dict(ModelConfig, d["model"], "model"),
            data=from_dict(DataConfig, d["data"], "data"),
            train=from_dict(TrainConfig, d["train"], "train"),
            version=FORMAT_VERSION,
            lineage=from_dict(Lineage, d.get("lineage") or {}, "lineage"),
        )

    def get(self, key: str) -> Any:
        """A field by its dotted name ("train.lr_g")."""
        section, _, name = key.partition(".")
        return getattr(getattr(self, section), name)


# -- options: the user-settable fields, by dotted name -------------------------------------------
@dataclass(frozen=True)
class Option:
    key: str  # "train.lr_g"
    name: str  # "lr_g"
    type: type
    default: Any
    help: str
    choices: tuple[Any, ...] = ()
    resume: bool = False  # a resumed run may change it
    aliases: tuple[str, ...] = ()
    off_aliases: tuple[str, ...] = ()
    default_text: str = ""

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def options() -> list[Option]:
    """Every field a user sets (flags, form, presets), in section order; the data-derived
    fields (channels and classes of the model, the data's fingerprint and size) are not options."""
    out = []
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            if f.metadata.get("derived"):
                continue
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            out.append(Option(f"{section}.{f.name}", f.name, type(default), default, f.metadata.get("help", ""),
                              f.metadata.get("choices", ()), f.metadata.get("resume", False),
                              f.metadata.get("aliases", ()), f.metadata.get("off_aliases", ()),
                              f.metadata.get("default_text", "")))
    return out


def option_keys() -> list[str]:
    return [o.key for o in options()]


def build_run_config(values: dict[str, Any]) -> RunConfig:
    """A new run's RunConfig from options by dotted name over the defaults: the one way the
    trainer's flags, the presets and the Train page make a config. Unknown names and bad values
    raise ConfigError naming the field.

    Defaults that depend on other options are decided here: the image size (32 for mnist's
    28 px digits, else 64) and D's normalisation (layer for wgan-gp, whose penalty is per
    sample, else batch). The data-derived fields get placeholders until the data is loaded
    (`fit_to_data`)."""
    known = {o.key: o for o in options()}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"unknown option {unknown[0]!r}", field=unknown[0])
    values = {key: _check_type(key, known[key].default, value) for key, value in values.items()}
    v = {o.key: o.default for o in known.values()}
    v["model.image_size"] = 32 if values.get("data.source") == "mnist" else 64
    v["model.d_norm"] = "layer" if values.get("train.loss") == "wgan-gp" else "batch"
    v.update(values)
    section = {s: {k.split(".", 1)[1]: x for k, x in v.items() if k.startswith(s + ".")} for s in SECTIONS}
    model = section["model"]
    model.update(channels=section["data"]["channels"] or 3, num_classes=2 if model["arch"] == "acgan" else 0)
    try:
        return RunConfig(model=ModelConfig(**model), data=DataConfig(**section["data"]),
                         train=TrainConfig(**section["train"]))
    except TypeError as e:
        raise ConfigError(str(e)) from None


def fit_to_data(cfg: RunConfig, channels: int, class_names: list[str], fingerprint: str,
                num_images: int) -> RunConfig:
    """Fill the data-derived fields in from the loaded dataset (the dataset rules checked first)."""
    check_dataset(cfg.model.arch, num_images, len(class_names), batch_size=cfg.train.batch_size)
    m = cfg.model
    conditional = is_conditional(m.arch, len(class_names) if cfg.data.use_classes else 0)
    # every other model field carries over as chosen (a new field needs nothing here)
    cfg.model = dataclasses.replace(m, channels=channels, num_classes=len(class_names) if conditional else 0,
                                    class_names=list(class_names) if conditional else [])
    cfg.data.fingerprint, cfg.data.num_images = fingerprint, num_images
    return cfg


def is_conditional(arch: str, num_classes: int) -> bool:
    """Whether a model of this architecture is class-conditional on data with this many classes:
    ACGAN always; R3GAN when the data has 2 or more classes (else unconditional); DCGAN never."""
    return arch == "acgan" or (arch == "r3gan" and num_classes >= 2)


def check_dataset(arch: str, num_images: int | None, num_classes: int | None,
                  batch_size: int | None = None) -> None:
    """The rules that need the dataset (None = not known yet): it has images, at least one batch
    of them, and an ACGAN has at least 2 classes. The trainer checks them once the data is loaded,
    the Train page from the dataset doctor's counts."""
    _need(num_images != 0, "data.source",
          "this dataset has no usable images; the Data page (or the dataset doctor) lists the files it "
          "skipped and why")
    if arch == "acgan" and num_classes is not None:
        _need(num_classes >= 2, "model.arch",
              f"ACGAN needs at least 2 classes, one subfolder of images per class; this dataset has "
              f"{'none' if not num_classes else 'only one'}. Choose DCGAN, or give each class its own subfolder.")
    _need(not (num_images and batch_size and batch_size > num_images), "train.batch_size",
          f"the batch of {batch_size} images is larger than the dataset ({num_images} images): choose a batch "
          f"of at most {num_images} (the automatic preset does)")


# the data rules that warn (a run may still start): `dataset_warnings`
FEW_IMAGES = 100  # fewer images in all: a GAN can only learn to copy them
FEW_CLASS_IMAGES = 5  # a class of a conditional model with fewer images than this (ORL faces: 8 per person, learnt)
CLASS_IMBALANCE = 20.0  # largest class / smallest class above this


def dataset_warnings(arch: str, class_counts: dict[str, int], num_images: int) -> list[str]:
    """What a run on this data is told before it starts (it still starts): very few images, and for
    a class-conditional model classes with very few images or far fewer than the largest one."""
    out = []
    if 0 < num_images < FEW_IMAGES:
        out.append(f"only {num_images} images: a GAN learns a distribution from many examples; from this few "
                   "it can only learn to copy them (a few hundred or more work; augmentation helps small sets)")
    counts = {k: v for k, v in class_counts.items() if v > 0}
    if not is_conditional(arch, len(counts)) or len(counts) < 2:
        return out
    few = sorted((k for k, v in counts.items() if v < FEW_CLASS_IMAGES), key=counts.get)
    if few:
        named = ", ".join(f"'{k}' ({counts[k]} image{'s' if counts[k] != 1 else ''})" for k in few[:5])
        more = f" and {len(few) - 5} more" if len(few) > 5 else ""
        out.append(f"class{'es' if len(few) > 1 else ''} {named}{more} {'have' if len(few) > 1 else 'has'} fewer than "
                   f"{FEW_CLASS_IMAGES} images: the model cannot learn a class from so few and will copy them for "
                   "it; add images to it or remove its folder")
    big, small = max(counts, key=counts.get), min(counts, key=counts.get)
    ratio = counts[big] / counts[small]
    if ratio > CLASS_IMBALANCE:
        out.append(f"the classes are very unbalanced: '{big}' has {counts[big]:,} images, '{small}' {counts[small]:,} "
                   f"({ratio:,.0f}x); training shows '{small}' about once for every {ratio:,.0f} '{big}' images, "
                   f"so its pictures will be poor; balance the classes if you can")
    return out


def steps_for_epochs(epochs: float, num_images: int, batch_size: int, world: int = 1) -> int:
    """Generator updates for `epochs` passes over `num_images` (one step = one batch per process)."""
    per_epoch = max(1, (num_images // world) // max(1, batch_size // world))
    return max(1, round(epochs * per_epoch))


def from_dict(cls: type[T], d: Any, section: str = "") -> T:
    """Build a config dataclass from a JSON dict, refusing unknown keys and wrong types."""
    if not isinstance(d, dict):
        raise ConfigError(f"{cls.__name__} must be a JSON object, got {type(d).__name__}", field=section)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(d) - set(fields))
    if unknown:
        raise ConfigError(f"{cls.__name__} has no field {unknown[0]!r}",
                          field=f"{section}.{unknown[0]}" if section else unknown[0])
    kwargs = {}
    for name, value in d.items():
        f = fields[name]
        default = f.default if f.default is not dataclasses.MISSING else None
        if default is None and f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = f.default_factory()  # type: ignore[misc]
        key = f"{section}.{name}" if section else f"{cls.__name__}.{name}"
        kwargs[name] = _check_type(key, default, value)
    try:
        return cls(**kwargs)
    except TypeError as e:  # missing required field
        raise ConfigError(f"{cls.__name__}: {e}", field=section) from None


def _check_type(key: str, default: Any, value: Any) -> Any:
    """`value` if it has the type of `default` (ints pass as floats); ConfigError otherwise."""
    expected = type(default) if default is not None else None
    if expected is bool:
        ok = isinstance(value, bool)
    elif expected is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif expected is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif expected is str:
        ok = isinstance(value, str)
    elif expected is list:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    else:
        ok = True
    if not ok:
        raise ConfigError(f"{key} has the wrong type: {value!r}", field=key)
    return value


def save_json(obj: Any, path: Path) -> None:
    """Write JSON atomically (temp file + rename); the temp name is per process and thread, so
    two writers of one file (the app's pages and its stop timer) never share a temp file."""
    import os
    import threading

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=2, sort_keys=False)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_json(path: Path, what: str = "JSON file") -> Any:
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{what} {path} is not valid JSON ({e})") from None
