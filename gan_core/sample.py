"""python -m gan_core.sample: render images from a checkpoint to a PNG grid or an .npz file.

Image i uses latent seed (--seed + i), so any image can be reproduced alone in the panel.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .checkpoints import RUN_CHECKPOINTS, resolve
from .cli import help_formatter, positive_int, run_main
from .errors import ConfigError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gan_core.sample",
                                description="Render N images from a checkpoint.",
                                formatter_class=help_formatter())
    p.add_argument("--checkpoint", required=True, help="checkpoint folder, or a run directory (see --which)")
    p.add_argument("--which", choices=RUN_CHECKPOINTS, default="best",
                   help="for a run directory: best = the run's result, the checkpoint its judge scored best (the "
                        "newest when the run was not judged); latest = the newest")
    p.add_argument("--n", type=positive_int, default=64, help="number of images")
    cls = p.add_mutually_exclusive_group()
    cls.add_argument("--classes", choices=("all",), help="ACGAN: spread the N images evenly over the classes, in label order")
    cls.add_argument("--class", dest="class_index", type=int, help="ACGAN: render only this class index")
    p.add_argument("--seed", type=int, default=0, help="first latent seed; image i uses seed+i")
    p.add_argument("--truncation", type=float, default=1.0, help="truncation psi in (0, 1]; lower = more typical")
    p.add_argument("--no-ema", action="store_true", help="use the raw generator instead of its EMA copy")
    p.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda", "mps"), help="where to render")
    p.add_argument("--batch-size", type=positive_int, default=250, help="images rendered per forward pass")
    p.add_argument("--nrow", type=int, default=0, help="PNG grid: images per row (0 = automatic)")
    p.add_argument("--out", required=True, help="FILE.png (a grid for people) or FILE.npz (images + labels)")
    return p


def spread_labels(n: int, num_classes: int) -> np.ndarray:
    """n labels spread evenly over the classes in label order (`--classes all`, and evaluations)."""
    return (np.arange(n) * num_classes // n).astype(np.int64)


def sample_labels(n: int, num_classes: int, classes: str | None, class_index: int | None,
                  seed: int) -> np.ndarray:
    """Labels for n images: even spread in label order (--classes all), one class, or random."""
    if num_classes == 0:
        if classes or class_index is not None:
            raise ConfigError("this checkpoint is unconditional (dcgan): --classes/--class do not apply")
        return np.full(n, -1, dtype=np.int64)
    if class_index is not None:
        if not 0 <= class_index < num_classes:
            raise ConfigError(f"--class must be between 0 and {num_classes - 1}, got {class_index}")
        return np.full(n, class_index, dtype=np.int64)
    if classes == "all":
        return spread_labels(n, num_classes)
    return np.random.RandomState(seed).randint(0, num_classes, n).astype(np.int64)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".npz"):
        raise ConfigError(f"--out must end in .png or .npz, got {out.name}")
    if not 0.0 < args.truncation <= 2.0:
        raise ConfigError(f"--truncation must be in (0, 2], got {args.truncation}")
    if not (0 <= args.seed and args.seed + args.n - 1 < 2**32):
        raise ConfigError("--seed + --n must stay within 0 .. 2**32 - 1")
    from .images import make_grid, save_png
    from .render import RenderService

    svc = RenderService(resolve(args.checkpoint, args.which), device=args.device, threads=0, ema=not args.no_ema)
    k = svc.cfg.num_classes
    labels = sample_labels(args.n, k, args.classes, args.class_index, args.seed)
    seeds = np.arange(args.seed, args.seed + args.n)
    chunks = []
    for i in range(0, args.n, args.batch_size):
        z = np.stack([svc.z(int(s), args.truncation) for s in seeds[i:i + args.batch_size]])
        chunks.append(svc.render_z(z, labels[i:i + args.batch_size] if k else None))
    images = np.concatenate(chunks)  # (N, H, W, C) uint8
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".npz":
        np.savez(out, images=images, labels=labels, seeds=seeds)
    else:
        nrow = args.nrow or (args.n // k if args.classes == "all" and k and args.n % k == 0 and k <= 40
                             else int(np.ceil(np.sqrt(args.n))))
        save_png(make_grid(images, nrow=nrow), out, {"checkpoint": svc.name, "seed": str(args.seed),
                                                      "truncation": str(args.truncation)})
    print(f"wrote {len(images)} images ({images.shape[1]}x{images.shape[2]}x{images.shape[3]}) to {out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
