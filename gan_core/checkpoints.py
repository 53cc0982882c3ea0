"""Checkpoint folders: `config.json` + `*.safetensors`, written atomically, never unpickled.

Layout of a checkpoint folder:
    config.json                   {"format", "version", "model": ModelConfig, "meta": {...}}
    generator.safetensors         the trained generator
    generator_ema.safetensors     its exponential moving average (what renders by default)
    discriminator.safetensors     only when training can continue from here
    training_state.safetensors    optimizers, EMA, step, data position, RNG states

A save writes a hidden sibling folder, fsyncs it, then swaps it in with two renames; if a
crash falls between the renames, `resolve` finds the previous folder under `<name>.old`.

`version` is the folder's format. A reader upgrades an older config.json in memory, one version
at a time, through `MIGRATIONS` (version N -> a function returning the dict as version N + 1
writes it), and refuses a newer one with a message that says so.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn as nn
from safetensors.torch import save_file

from . import formats
from .config import ModelConfig, from_dict, load_json, model_from_v1, model_from_v2, save_json
from .errors import CheckpointError, ConfigError
from .serialize import load_state, load_tensors, save_state

FORMAT = "gan-studio-checkpoint"
VERSION = 3  # the format this code writes; bump it with a MIGRATIONS entry from the previous one
# version N -> upgrade of a config.json dict written as version N to version N + 1
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    1: model_from_v1,  # r3gan's model.g_upsample arrived
    2: model_from_v2,  # r3gan's model.g_output arrived
}
CONFIG = "config.json"
GENERATOR = "generator.safetensors"
GENERATOR_EMA = "generator_ema.safetensors"
# a run directory's checkpoints by name (`resolve`): its result (the best judged) and its newest
RUN_CHECKPOINTS = ("best", "latest")
DISCRIMINATOR = "discriminator.safetensors"
TRAINING_STATE = "training_state.safetensors"
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".bin", ".ckpt")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _state_dict(module: nn.Module) -> dict[str, torch.Tensor]:
    # unwrap DDP / torch.compile wrappers; clone so tensors never share storage
    module = getattr(module, "module", module)
    module = getattr(module, "_orig_mod", module)
    return {k: v.detach().cpu().clone().contiguous() for k, v in module.state_dict().items()}


def save_checkpoint(path: str | Path, model_cfg: ModelConfig, generator: nn.Module, *,
                    generator_ema: nn.Module | None = None, discriminator: nn.Module | None = None,
                    training_state: dict[str, Any] | None = None,
                    meta: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint folder atomically and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.tmp-*"):  # left by a process killed mid-save
        shutil.rmtree(stale, ignore_errors=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.mkdir()
    save_file(_state_dict(generator), str(tmp / GENERATOR))
    if generator_ema is not None:
        save_file(_state_dict(generator_ema), str(tmp / GENERATOR_EMA))
    if discriminator is not None:
        save_file(_state_dict(discriminator), str(tmp / DISCRIMINATOR))
    if training_state is not None:
        save_state(training_state, tmp / TRAINING_STATE)
    meta = dict(meta or {})
    meta.setdefault("saved_at", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    save_json({"format": FORMAT, "version": VERSION, "model": dataclasses.asdict(model_cfg),
               "meta": meta}, tmp / CONFIG)
    for f in tmp.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    _fsync_dir(tmp)
    old = path.with_name(f"{path.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if path.exists():
        os.rename(path, old)
    os.rename(tmp, path)
    _fsync_dir(path.parent)
    shutil.rmtree(old, ignore_errors=True)
    return path


def resolve(path: str | Path, which: str = "latest") -> Path:
    """A checkpoint folder, or a run directory (-> its `which` checkpoint, `RUN_CHECKPOINTS`: "latest"
    is the newest, which a resume continues from; "best" is the run's result, the checkpoint its
    judge scored best (the newest when it was not judged, and its latest when it has no best));
    recovers a torn swap."""
    if which not in RUN_CHECKPOINTS:
        raise CheckpointError(f"a run's checkpoint is one of {', '.join(RUN_CHECKPOINTS)}, not {which!r}")
    path = Path(path)
    if (path / "checkpoints").is_dir():  # a run directory
        found = path / "checkpoints" / which
        if which == "best" and not (found.exists() or found.with_name("best.old").is_dir()):
            found = found.with_name("latest")
        path = found
    if not path.exists():
        old = path.with_name(f"{path.name}.old")
        if old.is_dir() and (old / CONFIG).is_file():
            os.rename(old, path)  # a crash fell between the two renames of a save
        else:
            raise CheckpointError(f"checkpoint not found: {path}")
    if not path.is_dir():
        raise CheckpointError(f"{path} is not a checkpoint folder (expected a folder with {CONFIG})")
    if not (path / CONFIG).is_file():
        found = sorted(p.name for p in path.iterdir() if p.suffix in PICKLE_SUFFIXES)
        hint = (f"; found {found[0]}: pickled weights are never loaded, import tutorial weights "
                "with `python -m gan_core.convert --from-tutorial FILE --out DIR`") if found else ""
        raise CheckpointError(f"{path} has no {CONFIG}{hint}")
    return path


def upgrade(raw: dict[str, Any], where: str | Path = "checkpoint") -> dict[str, Any]:
    """A checkpoint's config.json dict brought to the current format `VERSION` (`formats.upgrade`:
    older versions through `MIGRATIONS`, a newer one refused with CheckpointError)."""
    return formats.upgrade(raw, VERSION, MIGRATIONS, str(where), CheckpointError)


def _read_raw(path: Path) -> dict[str, Any]:
    """config.json of a resolved checkpoint folder, checked and upgraded to the current format."""
    try:
        raw = load_json(path / CONFIG, "checkpoint config")
    except ConfigError as e:
        raise CheckpointError(str(e)) from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise CheckpointError(f"{path / CONFIG} is not a GAN Studio checkpoint config")
    return upgrade(raw, path)


def read_config(path: str | Path) -> tuple[ModelConfig, dict[str, Any]]:
    """The model config and metadata of a checkpoint folder (an older format upgraded)."""
    path = resolve(path)
    raw = _read_raw(path)
    try:
        cfg = from_dict(ModelConfig, raw.get("model"))
    except ConfigError as e:
        raise CheckpointError(str(e)) from None
    meta = raw.get("meta") if isinstance(raw.get("meta"), dict) else {}
    return cfg, meta


def load_weights(module: nn.Module, file: Path) -> None:
    """Load a safetensors file into `module`; shape or key mismatches become CheckpointError."""
    if not file.is_file():
        raise CheckpointError(f"missing weights file: {file}")
    tensors = load_tensors(file)
    target = getattr(module, "module", module)
    own = target.state_dict()
    missing = sorted(set(own) - set(tensors))
    unexpected = sorted(set(tensors) - set(own))
    if missing or unexpected:
        what = f"missing {missing[0]}" if missing else f"unexpected {unexpected[0]}"
        raise CheckpointError(f"{file} does not match its config.json ({what}, "
                              f"{len(missing)} missing / {len(unexpected)} unexpected keys)")
    for k, v in tensors.items():
        if own[k].shape != v.shape:
            raise CheckpointError(f"{file} does not match its config.json: {k} has shape "
                                  f"{tuple(v.shape)}, the model expects {tuple(own[k].shape)}")
    target.load_state_dict(tensors, strict=True)


def load_generator(path: str | Path, *, ema: bool = True, device: str | torch.device = "cpu"
                   ) -> tuple[nn.Module, ModelConfig, dict[str, Any]]:
    """Rebuild the generator from config.json and load its weights (EMA when present), in eval mode."""
    from .networks import build_generator

    path = resolve(path)
    cfg, meta = read_config(path)
    g = build_generator(cfg, init=False)
    file = path / GENERATOR_EMA if ema and (path / GENERATOR_EMA).is_file() else path / GENERATOR
    load_weights(g, file)
    return g.to(device).eval(), cfg, meta


def load_training_state(path: str | Path) -> dict[str, Any]:
    path = resolve(path)
    _read_raw(path)  # a format this version reads
    file = path / TRAINING_STATE
    if not file.is_file():
        raise CheckpointError(f"{path} holds no training state; it can render but not resume")
    return load_state(file)


def weights_hash(path: str | Path, ema: bool = True) -> str:
    """Short SHA-256 of the weights file that renders, so a recipe can name exact weights."""
    path = resolve(path)
    file = path / GENERATOR_EMA if ema and (path / GENERATOR_EMA).is_file() else path / GENERATOR
    h = hashlib.sha256()
    with open(file, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def copy_checkpoint(src: str | Path, dst: str | Path, *, with_training_state: bool = False) -> Path:
    """Copy a checkpoint folder (e.g. to publish a run), atomically; drops resume state by default."""
    src = resolve(src)
    dst = Path(dst)
    tmp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    keep = {CONFIG, GENERATOR, GENERATOR_EMA, "README.md"}
    if with_training_state:
        keep |= {DISCRIMINATOR, TRAINING_STATE}
    for f in src.iterdir():
        if f.name in keep and f.is_file():
            shutil.copy2(f, tmp / f.name)
    if dst.exists():
        shutil.rmtree(dst)
    os.rename(tmp, dst)
    return dst
