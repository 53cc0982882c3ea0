"""Nested Python state (dicts, lists, tensors, numpy arrays, numbers) <-> safetensors + JSON.

Optimizer states and RNG states are nested structures; pickle would store them in one call
but loading a pickle can run code. Here tensors go into a safetensors file and everything
else into a JSON document kept in the file's metadata, so loading never executes anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .errors import CheckpointError

_T, _A, _TUP = "__tensor__", "__ndarray__", "__tuple__"


def pack(obj: Any) -> tuple[dict[str, torch.Tensor], str]:
    """Split `obj` into a flat {key: tensor} dict and a JSON skeleton that refers to the keys."""
    tensors: dict[str, torch.Tensor] = {}

    def walk(o: Any, path: str) -> Any:
        if isinstance(o, torch.Tensor):
            tensors[path] = o.detach().cpu().clone().contiguous()
            return {_T: path}
        if isinstance(o, np.ndarray):  # stored as int64/float64; the dtype is restored on load
            wide = o.astype(np.float64 if o.dtype.kind == "f" else np.int64)
            tensors[path] = torch.from_numpy(np.ascontiguousarray(wide))
            return {_A: path, "dtype": o.dtype.str}
        if isinstance(o, dict):
            return {"__dict__": [[walk(k, f"{path}.k{i}"), walk(v, f"{path}.{i}")]
                                 for i, (k, v) in enumerate(o.items())]}
        if isinstance(o, tuple):
            return {_TUP: [walk(v, f"{path}.{i}") for i, v in enumerate(o)]}
        if isinstance(o, list):
            return [walk(v, f"{path}.{i}") for i, v in enumerate(o)]
        if isinstance(o, (np.integer, np.floating)):
            return o.item()
        if o is None or isinstance(o, (bool, int, float, str)):
            return o
        raise TypeError(f"cannot serialise {type(o).__name__} at {path}")

    skeleton = walk(obj, "s")
    return tensors, json.dumps(skeleton)


def unpack(tensors: dict[str, torch.Tensor], skeleton: str) -> Any:
    def walk(o: Any) -> Any:
        if isinstance(o, list):
            return [walk(v) for v in o]
        if isinstance(o, dict):
            if _T in o:
                return tensors[o[_T]]
            if _A in o:
                return tensors[o[_A]].numpy().astype(np.dtype(o["dtype"]))
            if _TUP in o:
                return tuple(walk(v) for v in o[_TUP])
            return {walk(k): walk(v) for k, v in o["__dict__"]}
        return o

    return walk(json.loads(skeleton))


def save_state(obj: Any, path: Path) -> None:
    tensors, skeleton = pack(obj)
    save_file(tensors, str(path), metadata={"state": skeleton})


def load_state(path: Path) -> Any:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path} is not a readable safetensors file ({e})") from None
    if "state" not in meta:
        raise CheckpointError(f"{path} holds no training state")
    try:
        return unpack(tensors, meta["state"])
    except (KeyError, ValueError, TypeError) as e:
        raise CheckpointError(f"{path} has a damaged state index ({e})") from None


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(
            f"{path} is not a readable safetensors file ({e}); pickled weights are never loaded"
        ) from None
