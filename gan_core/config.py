"""Typed configuration, saved as JSON beside weights and in every run directory.

A checkpoint rebuilds its networks from `ModelConfig` alone; a run resumes from `RunConfig`
alone. Unknown keys and bad values raise `ConfigError` with the field named.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .errors import ConfigError

FORMAT_VERSION = 1

ARCHS = ("dcgan", "acgan")
DCGAN_SIZES = (32, 64, 96, 128)
ACGAN_SIZES = (32, 64)
LOSSES = ("bce", "hinge", "lsgan", "wgan-gp")
D_NORMS = ("batch", "layer", "none")
DIFFAUG_OPS = ("translation", "cutout", "color")
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")

T = TypeVar("T")


@dataclass
class ModelConfig:
    """Everything needed to rebuild a generator/discriminator pair."""

    arch: str = "dcgan"
    image_size: int = 64
    channels: int = 3
    nz: int = 100  # latent size
    ngf: int = 64  # generator width
    ndf: int = 0  # discriminator width; 0 = the arch's default (dcgan 64, acgan 16)
    num_classes: int = 0  # 0 for unconditional models
    class_names: list[str] = field(default_factory=list)
    d_norm: str = "batch"  # discriminator normalisation: batch | layer | none

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ConfigError(f"model.arch must be one of {', '.join(ARCHS)}, got {self.arch!r}")
        sizes = DCGAN_SIZES if self.arch == "dcgan" else ACGAN_SIZES
        if self.image_size not in sizes:
            raise ConfigError(
                f"{self.arch} supports image sizes {', '.join(map(str, sizes))}; got {self.image_size}"
            )
        if self.channels not in (1, 3):
            raise ConfigError(f"model.channels must be 1 or 3, got {self.channels}")
        for name in ("nz", "ngf"):
            if not 1 <= getattr(self, name) <= 4096:
                raise ConfigError(f"model.{name} must be between 1 and 4096, got {getattr(self, name)}")
        if self.ndf == 0:
            self.ndf = 64 if self.arch == "dcgan" else 16
        if not 1 <= self.ndf <= 4096:
            raise ConfigError(f"model.ndf must be between 1 and 4096, got {self.ndf}")
        if self.d_norm not in D_NORMS:
            raise ConfigError(f"model.d_norm must be one of {', '.join(D_NORMS)}, got {self.d_norm!r}")
        if self.arch == "acgan" and self.num_classes < 2:
            raise ConfigError(f"acgan needs at least 2 classes, got {self.num_classes}")
        if self.arch == "dcgan" and self.num_classes != 0:
            raise ConfigError("dcgan is unconditional: num_classes must be 0")
        if self.class_names and len(self.class_names) != self.num_classes:
            raise ConfigError(
                f"model.class_names has {len(self.class_names)} names for {self.num_classes} classes"
            )
        if not self.class_names and self.num_classes:
            self.class_names = [str(i) for i in range(self.num_classes)]

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0


@dataclass
class DataConfig:
    source: str = "mnist"  # built-in name, folder or .zip
    channels: int = 0  # 0 = chosen from the data
    hflip: bool = False
    fingerprint: str = ""  # filled in after loading; resume refuses a different dataset
    num_images: int = 0


@dataclass
class TrainConfig:
    steps: int = 10_000
    batch_size: int = 64
    loss: str = "bce"
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    n_critic: int = 0  # D updates per G update; 0 = the loss's default (5 for wgan-gp, else 1)
    gp_weight: float = 10.0
    # R1 (Mescheder et al. 2018): gamma/2 * E||grad_x D(x)||^2 on real images, computed every
    # r1_every D updates and scaled by it (lazy regularisation, Karras et al. 2020); 0 = off
    r1_gamma: float = 0.0
    r1_every: int = 16
    aux_weight: float = 1.0  # ACGAN classification loss weight
    # ACGAN: D's classifier also learns the classes of generated images (Odena et al. 2017).
    # False trains it on real images only, so G must satisfy a classifier of real data.
    aux_on_fake: bool = True
    ema: float = 0.999  # EMA decay of the generator copy; 0 disables
    ema_start: int = 0  # step from which the EMA starts averaging (copies before)
    diffaug: str = ""  # comma list of translation,cutout,color
    label_smoothing: float = 0.0  # one-sided: real target 1 - s (bce only)
    device: str = "auto"
    precision: str = "auto"
    threads: int = 0  # CPU threads; 0 = all cores
    seed: int = 0
    log_every: int = 50
    sample_every: int = 500
    ckpt_every: int = 1000
    eval_every: int = 0  # light evaluation every N steps (needs a judge); 0 = off

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ConfigError(f"train.loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if self.device not in DEVICES:
            raise ConfigError(f"train.device must be one of {', '.join(DEVICES)}, got {self.device!r}")
        if self.precision not in PRECISIONS:
            raise ConfigError(
                f"train.precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}"
            )
        for name in ("steps", "batch_size", "log_every", "sample_every", "ckpt_every", "r1_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"train.{name} must be at least 1, got {getattr(self, name)}")
        if self.eval_every < 0:
            raise ConfigError(f"train.eval_every must be 0 (off) or positive, got {self.eval_every}")
        if self.n_critic == 0:
            self.n_critic = 5 if self.loss == "wgan-gp" else 1
        if self.n_critic < 1:
            raise ConfigError(f"train.n_critic must be at least 1, got {self.n_critic}")
        if self.r1_gamma < 0.0:
            raise ConfigError(f"train.r1_gamma must be 0 (off) or positive, got {self.r1_gamma}")
        if self.r1_gamma > 0.0 and self.loss == "wgan-gp":
            raise ConfigError("train.r1_gamma: wgan-gp already has its own gradient penalty; use one or the other")
        if not 0.0 <= self.ema < 1.0:
            raise ConfigError(f"train.ema must be in [0, 1), got {self.ema}")
        if not 0.0 <= self.label_smoothing < 0.5:
            raise ConfigError(f"train.label_smoothing must be in [0, 0.5), got {self.label_smoothing}")
        for name in ("lr_g", "lr_d"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ConfigError(f"train.{name} must be in (0, 1), got {getattr(self, name)}")
        bad = [op for op in self.diffaug_ops if op not in DIFFAUG_OPS]
        if bad:
            raise ConfigError(
                f"unknown DiffAugment op {bad[0]!r}; choose from {', '.join(DIFFAUG_OPS)}"
            )

    @property
    def diffaug_ops(self) -> list[str]:
        return [op.strip() for op in self.diffaug.split(",") if op.strip()]


@dataclass
class RunConfig:
    model: ModelConfig
    data: DataConfig
    train: TrainConfig
    version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunConfig":
        if not isinstance(d, dict):
            raise ConfigError("run config must be a JSON object")
        for key in ("model", "data", "train"):
            if key not in d:
                raise ConfigError(f"run config has no '{key}' section")
        return cls(
            model=from_dict(ModelConfig, d["model"]),
            data=from_dict(DataConfig, d["data"]),
            train=from_dict(TrainConfig, d["train"]),
            version=int(d.get("version", FORMAT_VERSION)),
        )


def from_dict(cls: type[T], d: Any) -> T:
    """Build a config dataclass from a JSON dict, refusing unknown keys and wrong types."""
    if not isinstance(d, dict):
        raise ConfigError(f"{cls.__name__} must be a JSON object, got {type(d).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - set(fields))
    if unknown:
        raise ConfigError(f"{cls.__name__} has no field {unknown[0]!r}")
    kwargs = {}
    for name, value in d.items():
        kwargs[name] = _check_type(cls.__name__, name, fields[name], value)
    try:
        return cls(**kwargs)
    except TypeError as e:  # missing required field
        raise ConfigError(f"{cls.__name__}: {e}") from None


def _check_type(owner: str, name: str, f: dataclasses.Field, value: Any) -> Any:
    default = f.default if f.default is not dataclasses.MISSING else None
    if default is None and f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        default = f.default_factory()  # type: ignore[misc]
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
        raise ConfigError(f"{owner}.{name} has the wrong type: {value!r}")
    return value


def save_json(obj: Any, path: Path) -> None:
    """Write JSON atomically (temp file + rename)."""
    import os

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
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
