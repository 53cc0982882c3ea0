"""python -m gan_core.convert --from-tutorial FILE --out DIR: import a PyTorch-DCGAN-tutorial generator.

Accepts a plain state_dict (`main.0.weight`, ...), a dict wrapping one (`{"netG_state_dict": ...}`,
`{"state_dict": ...}`, ...), and keys prefixed `module.` (nn.DataParallel). The file is read
with `torch.load(weights_only=True)`, which refuses anything but tensors and plain containers.
nz, ngf, channels and image size are inferred from the weight shapes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import torch

from .cli import run_main
from .config import ModelConfig
from .errors import CheckpointError

WRAPPER_KEYS = ("netG_state_dict", "generator_state_dict", "state_dict", "model_state_dict",
                "netG", "generator", "G", "model")


def _is_state_dict(obj: Any) -> bool:
    return isinstance(obj, dict) and bool(obj) and all(isinstance(v, torch.Tensor) for v in obj.values())


def find_generator_state(obj: Any) -> dict[str, torch.Tensor]:
    """Locate the generator's state_dict inside what torch.load returned and strip `module.`."""
    sd = None
    if _is_state_dict(obj):
        sd = obj
    elif isinstance(obj, dict):
        for key in WRAPPER_KEYS:
            if _is_state_dict(obj.get(key)):
                sd = obj[key]
                break
    if sd is None:
        raise CheckpointError("no generator state_dict found: expected keys like 'main.0.weight', "
                              f"or a dict with one of {', '.join(WRAPPER_KEYS)}")
    out = {}
    for k, v in sd.items():
        while k.startswith("module."):
            k = k[len("module."):]
        out[k] = v
    if "main.0.weight" not in out:
        raise CheckpointError("this is not a DCGAN-tutorial generator: it has no 'main.0.weight' "
                              f"(first keys: {', '.join(list(out)[:3])})")
    return out


def infer_config(sd: dict[str, torch.Tensor]) -> ModelConfig:
    """nz, ngf, channels and image size from the transposed-convolution weight shapes."""
    from .networks.dcgan import stage_multipliers

    convs = sorted(((int(k.split(".")[1]), v) for k, v in sd.items()
                    if k.startswith("main.") and k.endswith(".weight") and v.dim() == 4),
                   key=lambda kv: kv[0])
    if len(convs) < 2:
        raise CheckpointError("too few convolution layers for a DCGAN generator")
    first, last = convs[0][1], convs[-1][1]  # ConvTranspose2d weights are (in, out, k, k)
    nz, channels, kernel = first.shape[0], last.shape[1], last.shape[2]
    n = len(convs)
    if kernel == 5:
        size = 96
    else:
        size = 4 * 2 ** (n - 1)
    if size not in (32, 64, 96, 128) or (size == 96 and n != 5):
        raise CheckpointError(f"unsupported generator: {n} transposed convolutions with a last kernel of {kernel}")
    ngf = first.shape[1] // stage_multipliers(size)[0]
    if channels not in (1, 3):
        raise CheckpointError(f"the generator outputs {channels} channels; only 1 or 3 are supported")
    return ModelConfig(arch="dcgan", image_size=size, channels=channels, nz=nz, ngf=ngf)


def convert_tutorial(file: str | Path, out: str | Path) -> Path:
    from .checkpoints import save_checkpoint
    from .networks import build_generator

    file = Path(file)
    if not file.is_file():
        raise CheckpointError(f"file not found: {file}")
    try:
        obj = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as e:  # UnpicklingError, RuntimeError, EOFError...: all mean "not safe/readable"
        raise CheckpointError(f"cannot read {file} as plain tensors (weights_only=True refused it: "
                              f"{str(e).splitlines()[0][:200]})") from None
    sd = find_generator_state(obj)
    cfg = infer_config(sd)
    g = build_generator(cfg, init=False)
    try:
        g.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"{file} does not match the inferred {cfg.image_size}px DCGAN "
                              f"(nz={cfg.nz}, ngf={cfg.ngf}): {str(e).splitlines()[0][:200]}") from None
    return save_checkpoint(out, cfg, g.eval(), meta={"imported_from": file.name,
                                                      "source": "PyTorch DCGAN tutorial"})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m gan_core.convert",
                                description="Import weights trained elsewhere into a checkpoint folder.")
    p.add_argument("--from-tutorial", required=True, metavar="FILE",
                   help="a .pth/.pt saved by the PyTorch DCGAN tutorial (state_dict of netG)")
    p.add_argument("--out", required=True, metavar="CHECKPOINT_DIR", help="checkpoint folder to write")
    args = p.parse_args(argv)
    path = convert_tutorial(args.from_tutorial, args.out)
    from .checkpoints import read_config

    cfg, _ = read_config(path)
    print(f"wrote {path}: dcgan {cfg.image_size}px, nz={cfg.nz}, ngf={cfg.ngf}, channels={cfg.channels}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
