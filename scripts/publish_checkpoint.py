"""Copy a finished run's EMA generator into checkpoints/<name>/ and write its model card.

    python scripts/publish_checkpoint.py --run runs/ship-mnist-acgan --name mnist-acgan --command "..."

The card records the data, the exact command, steps, wall time on this machine and the
output of `python -m gan_core.evaluate` (run here, 10,000 samples).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gan_core.checkpoints import CONFIG, GENERATOR_EMA, resolve  # noqa: E402
from gan_core.evaluate import evaluate_checkpoint, format_table  # noqa: E402
from gan_core.images import make_grid, save_png  # noqa: E402
from gan_core.render import RenderService  # noqa: E402
from gan_core.runs import RunDir  # noqa: E402

DATA_NOTES = {
    "mnist": "MNIST training split: 60,000 handwritten digits, 28x28 grey, resized to 32x32 "
             "(LeCun, Cortes, Burges; CC BY-SA 3.0; vendored in data/mnist).",
    "orl-faces:train": "ORL / AT&T faces, training split: photos 1-8 of each of the 40 people (320 images, "
                       "92x112 grey, resized and centre-cropped to 64x64); photos 9-10 are held out for the "
                       "judge and the memorisation check (AT&T Laboratories Cambridge; vendored in data/orl_faces).",
}


def card(name: str, run: RunDir, command: str, result: dict, wall: float | None) -> str:
    cfg = run.load_config()
    m, t = cfg.model, cfg.train
    rows = run.read_metrics()
    last = rows[-1] if rows else {}
    epochs = last.get("epoch", 0)
    train_s = last.get("time", 0)
    size_mb = (ROOT / "checkpoints" / name / GENERATOR_EMA).stat().st_size / 2**20
    cls = f", {m.num_classes} classes" if m.num_classes else ", unconditional"
    lines = [
        f"# {name}", "",
        f"{m.arch.upper()} generator, {m.image_size}x{m.image_size}, {m.channels} channel(s){cls}; "
        f"trained by GAN Studio's own CLI on a 2-core CPU.", "",
        "| | |", "|---|---|",
        f"| Architecture | {m.arch} {m.image_size}px, nz {m.nz}, ngf {m.ngf}, ndf {m.ndf}, D norm {m.d_norm} |",
        f"| Data | {DATA_NOTES.get(cfg.data.source, cfg.data.source)} |",
        f"| Training | {t.steps} steps x batch {t.batch_size} ({epochs:.1f} epochs), loss {t.loss}, Adam "
        f"lr G {t.lr_g} / D {t.lr_d}, betas ({t.beta1}, {t.beta2}), EMA {t.ema}"
        + (f", DiffAugment {t.diffaug}" if t.diffaug else "") + (", h-flip" if cfg.data.hflip else "")
        + f", seed {t.seed} |",
        f"| Command | `{command}` |",
        f"| Time | {train_s / 60:.1f} min of training steps" + (f", {wall / 60:.1f} min wall clock" if wall else "")
        + f" on this machine ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{run.read_status().get('device', 'cpu')}); the machine was shared with other work while training |",
        f"| Weights | `{GENERATOR_EMA}` ({size_mb:.1f} MB): the EMA generator, BatchNorm statistics recalibrated |",
        f"| Final losses | loss_d {last.get('loss_d', float('nan')):.3f}, loss_g {last.get('loss_g', float('nan')):.3f}"
        + (f", D aux accuracy real {last['acc_real']:.3f} / fake {last['acc_fake']:.3f}" if "acc_real" in last else "")
        + " |", "",
        "## Evaluation", "",
        f"`python -m gan_core.evaluate --checkpoint checkpoints/{name}` (10,000 samples, seeds 0-9999):", "",
        "```", format_table(result).replace(str(ROOT) + "/", ""), "```", "",
        "![samples](samples.png)", "",
    ]
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--run", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--command", default="")
    p.add_argument("--which", default="latest", choices=("latest", "best"))
    p.add_argument("--n", type=int, default=10_000)
    args = p.parse_args()
    run = RunDir(args.run)
    src = resolve(run.checkpoint(args.which))
    dst = ROOT / "checkpoints" / args.name
    tmp = dst.with_name(f".{args.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    shutil.copy2(src / GENERATOR_EMA, tmp / GENERATOR_EMA)
    cfg = json.loads((src / CONFIG).read_text())
    cfg["meta"].update(name=args.name, published_at=time.strftime("%Y-%m-%d"))
    cfg["meta"].pop("run", None)
    (tmp / CONFIG).write_text(json.dumps(cfg, indent=2) + "\n")
    shutil.rmtree(dst, ignore_errors=True)
    os.rename(tmp, dst)
    result = evaluate_checkpoint(dst, n=args.n)
    (dst / "evaluation.json").write_text(json.dumps(result, indent=2) + "\n")
    svc = RenderService(dst, threads=0)
    k = svc.cfg.num_classes
    if k and k <= 10:
        seeds = [s for _ in range(k) for s in range(10)]
        labels = [c for c in range(k) for _ in range(10)]
        grid = make_grid(svc.render_seeds(seeds, labels), nrow=10)
    else:
        grid = make_grid(svc.render_seeds(list(range(64)), [i % k for i in range(64)] if k else None), nrow=8)
    save_png(grid, dst / "samples.png")
    wall_file = run.path / ".wall_seconds"
    wall = float(wall_file.read_text()) if wall_file.exists() else None
    (dst / "README.md").write_text(card(args.name, run, args.command, result, wall), encoding="utf-8")
    print(format_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
