"""Publish a finished run as a shipped checkpoint, and write the model cards.

    python scripts/publish_checkpoint.py --run runs/ship-mnist-acgan --name mnist-acgan --command "..."
    python scripts/publish_checkpoint.py --cards-only [NAME ...]

Publishing copies the run's EMA generator into <shipped>/<name>/ (`GAN_STUDIO_SHIPPED`, default
checkpoints/) with a training record in its config.json meta (the command, the run's data and
train settings, wall time, machine), evaluates it with `python -m gan_core.evaluate` (10,000
samples: evaluation.json), renders samples.png and writes README.md, the model card.

`--cards-only` rewrites the cards of the named shipped checkpoints (default: all of them) and the
README's "Shipped checkpoints" table from what each folder holds, without training or evaluating
again. Every figure on a card or in the table is read from the folder's evaluation.json and
config.json: none is typed here (tests/test_model_cards.py checks the committed files match).
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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gan_core.checkpoints import CONFIG, GENERATOR_EMA, resolve  # noqa: E402
from gan_core.config import decay_last_share  # noqa: E402
from gan_core.eval_report import format_table  # noqa: E402
from gan_core.locations import shipped_dir  # noqa: E402

EVALUATION = "evaluation.json"
UPSAMPLING = {"conv": "G upsamples by nearest 2x + 3x3 conv", "bilinear": "G upsamples by a 1x1 conv + bilinear 2x"}
OUTPUT = {"tanh": "a tanh last layer", "linear": "a linear last layer (clamped to pixels)"}
CARD = "README.md"
DATA_NOTES = {
    "mnist": "MNIST training split: 60,000 handwritten digits, 28x28 grey, resized to 32x32 "
             "(LeCun, Cortes, Burges; CC BY-SA 3.0; vendored in data/mnist).",
    "orl-faces:train": "ORL / AT&T faces, training split: photos 1-8 of each of the 40 people (320 images, "
                       "92x112 grey, resized and centre-cropped to 64x64); photos 9-10 are held out for the "
                       "judge and the memorisation check (AT&T Laboratories Cambridge; vendored in data/orl_faces).",
}
# What looking at a checkpoint's samples shows and its figures do not (words, never figures), by name
LOOK_NOTES = {
    "orl-faces-r3gan": "Thin wavy lines, like contour lines, run across many faces; the judge's features do not "
                       "register them, so the figures above read better than the pictures look. "
                       "`orl-faces-acgan` draws smoother skin but mixes people far more often. The lines come from "
                       "this generator's upsampling (a 1x1 conv, then bilinear 2x): every variant of the objective "
                       "and widths tried drew them too, while with nearest 2x + a 3x3 conv (`--g-upsample conv`) "
                       "the same command drew faces without them, but with a fine grid texture, and after its "
                       "hour read worse on the judge in FD and identity (the figures are in "
                       "gan_core/networks/r3gan.py), so this run stays the shipped one.",
}


# -- the card: a function of the folder ---------------------------------------------------------
def _fig(x: float) -> str:
    """A distance as cards and the README print it: three decimals below 1, two above."""
    return f"{x:.3f}" if abs(x) < 1 else f"{x:.2f}"


def _training_text(run: dict[str, Any], conditional: bool, step: int, epoch: float | None) -> str:
    """The Training row from the run's recorded settings (a setting the record lacks is left out)."""
    t, d = run.get("train", {}), run.get("data", {})
    steps = t.get("steps")
    done = f"{step} steps" if steps in (None, step) else f"{step} of {steps} steps"
    parts = [f"{done} x batch {t.get('batch_size', '?')}" + (f" ({epoch:.1f} epochs)" if epoch is not None else ""),
             f"loss {t.get('loss', '?')}",
             f"Adam lr G {t.get('lr_g')} / D {t.get('lr_d')}, betas ({t.get('beta1')}, {t.get('beta2')})",
             f"EMA half-life {t['ema_halflife_kimg']:g}k images" if t.get("ema_halflife_kimg")
             else f"EMA {t.get('ema')}"]
    if t.get("minutes"):
        parts.append(f"time budget {t['minutes']:g} min")
    if t.get("diffaug"):
        parts.append(f"DiffAugment {t['diffaug']}")
    if t.get("ada_target"):
        parts.append(f"adaptive augmentation (target {t['ada_target']:g})")
    if d.get("hflip"):
        parts.append("h-flip")
    if t.get("label_smoothing"):
        parts.append(f"one-sided label smoothing {t['label_smoothing']}")
    penalties = [(name, t[key]) for name, key in (("R1", "r1_gamma"), ("R2", "r2_gamma")) if t.get(key)]
    if penalties:
        names, gammas = " and ".join(n for n, _ in penalties), " / ".join(f"{g:g}" for _, g in penalties)
        parts.append(f"{names} {'penalties' if len(penalties) > 1 else 'penalty'} gamma {gammas} "
                     f"(every {t.get('r1_every')} D updates)")
    if t.get("lr_decay"):
        last = decay_last_share(t.get("lr_decay_last") or 0.0, t["lr_decay"])
        window = (f"at most the last {t['lr_decay']:.0%} of the run, from when the judged FD stalled"
                  + (f" (the last {last:.0%} in any case)" if last else "")) if t.get(
            "lr_decay_plateau") else f"the last {t['lr_decay']:.0%} of the run"
        parts.append(f"learning rates decayed over {window} to {t.get('lr_final', 0.1):g}x")
    if conditional and t.get("mode_seeking"):
        parts.append(f"mode-seeking term {t['mode_seeking']:g}")
    if conditional and t.get("aux_in_g") is False:
        parts.append("no class loss for G (the projection alone conditions it)")
    if conditional and t.get("aux_on_fake") is False:
        parts.append("D's classifier on real images only")
    if conditional and t.get("aux_weight", 1) != 1:
        parts.append(f"class-loss weight {t['aux_weight']:g}")
    if "seed" in t:
        parts.append(f"seed {t['seed']}")
    return ", ".join(parts)


def _worst_class(r: dict[str, Any]) -> tuple[str, float]:
    """The class the judge reads least often as requested, and that rate."""
    per = r["class_consistency_per_class"]
    worst = min(per, key=per.get)
    return worst, per[worst]


def _what_the_numbers_mean(r: dict[str, Any], num_classes: int) -> list[str]:
    """Plain-words reading of this checkpoint's evaluation (every figure from `r`)."""
    lines = ["## What the numbers mean", ""]
    base = r["fd_real_baseline"]
    if r.get("class_consistency") is not None:
        worst, rate = _worst_class(r)
        lines.append(f"- **Class control**: the judge reads {r['class_consistency']:.1%} of samples as the requested "
                     f"class (chance: {1 / num_classes:.1%}); the worst, class {worst}, at {rate:.1%}.")
    else:
        hist = r["class_histogram"]
        lines.append(f"- **Mode coverage**: the judge sees each of its {len(hist)} classes in "
                     f"{min(hist.values()):.1%}-{max(hist.values()):.1%} of samples.")
    fd_line = (f"- **FD**: {_fig(r['fd'])} in the judge's features, {r['fd_ratio']:.1f}x the distance between "
               f"two disjoint halves of the real data ({_fig(base)}, halves of {r['real_half_size']:,} images)")
    floor = r.get("fd_class_mix_floor")
    if floor is not None:
        fd_line += (f"; real images in the samples' judged class mix score {_fig(floor)} ({floor / base:.1f}x, the "
                    "`class-mix floor` line), and the FD beyond that comes from the images themselves")
    lines.append(fd_line + ".")
    if r["precision"] < 1:
        lines.append(f"- **Precision {r['precision']:.2f} / recall {r['recall']:.2f}**: about one sample in "
                     f"{round(1 / (1 - r['precision']))} lies outside the real images' manifold in the judge's "
                     f"features; {r['recall']:.0%} of real images lie inside the samples'.")
    if r["real_half_size"] < 1000:
        lines.append(f"- **Few real images**: the baseline compares two halves of {r['real_half_size']} images, so "
                     f"FD figures are noisy; the size-matched FD ({_fig(r['fd_size_matched'])}) compares as many "
                     "samples, spread evenly over the classes, as the baseline does.")
    m = r.get("memorisation")
    if m:
        lines.append(f"- **Memorisation**: the median distance of a sample to its nearest training image is "
                     f"{m['samples_nn_median']:.3f}, against {m['heldout_nn_median']:.3f} for held-out real images "
                     f"(ratio {m['ratio']:.2f}; a generator replaying its training set sits far below 1); "
                     f"{m['near_copies']:.2%} of "
                     f"{m['samples']:,} samples are closer to a training image than 99% of held-out images are "
                     "(1% is what unseen real images would give).")
    return lines + [""]


def card(folder: Path) -> str:
    """The model card of a shipped checkpoint folder, from its config.json and evaluation.json alone."""
    from gan_core.checkpoints import read_config

    name = folder.name
    m, meta = read_config(folder)
    r = json.loads((folder / EVALUATION).read_text(encoding="utf-8"))
    rec = meta.get("training") or {}
    run = rec.get("run_config") or {}
    at = meta.get("metrics") or {}
    step = int(meta.get("step", at.get("step", 0)))
    source = meta.get("dataset") or run.get("data", {}).get("source", "?")
    size_mb = (folder / GENERATOR_EMA).stat().st_size / 2**20
    cls = f", {m.num_classes} classes" if m.num_classes else ", unconditional"
    machine = rec.get("machine", "?")
    normalised = m.arch != "r3gan"  # dcgan/acgan carry BatchNorm (recalibrated for the EMA copy); r3gan none
    n = int(r["n"])
    lines = [
        f"# {name}", "",
        f"{m.arch.upper()} generator, {m.image_size}x{m.image_size}, {m.channels} channel(s){cls}; "
        f"trained by GAN Studio's own CLI ({machine}).", "",
        "| | |", "|---|---|",
        f"| Architecture | {m.arch} {m.image_size}px, nz {m.nz}, ngf {m.ngf}, ndf {m.ndf}, "
        + (f"D norm {m.d_norm}" if normalised else f"at least {m.min_width} channels per stage, no normalisation layers, "
           + UPSAMPLING[m.g_upsample] + f", {OUTPUT[m.g_output]}")
        + " |",
        f"| Data | {DATA_NOTES.get(source, source)} |",
        f"| Training | {_training_text(run, m.conditional, step, at.get('epoch'))} |",
        f"| Command | `{rec.get('command', '?')}` |",
        f"| Time | {meta.get('train_seconds', 0) / 60:.1f} min of training steps"
        + (f", {rec['wall_seconds'] / 60:.1f} min wall clock" if rec.get("wall_seconds") else "")
        + f" on {machine} ({rec.get('device', '?')}) |",
        f"| Weights | `{GENERATOR_EMA}` ({size_mb:.1f} MB): the EMA generator at step {step}"
        + (f" (the lowest light-evaluation FD of the run, {at['eval_fd']:.3f} on 1,000 samples)"
           if "eval_fd" in at else "")
        + (", BatchNorm statistics recalibrated" if normalised else "") + " |",
        f"| Losses at step {step} | loss_d {at.get('loss_d', float('nan')):.3f}, "
        f"loss_g {at.get('loss_g', float('nan')):.3f}"
        + (f", D aux accuracy real {at['acc_real']:.3f} / fake {at['acc_fake']:.3f}" if "acc_real" in at else "")
        + " |", "",
        "## Evaluation", "",
        f"`python -m gan_core.evaluate --checkpoint checkpoints/{name}"
        + ("" if n == 10_000 else f" --n {n}") + f"` ({n:,} samples, seeds 0-{n - 1}):", "",
        "```", format_table({**r, "checkpoint": f"checkpoints/{name}"}), "```", "",
        "![samples](samples.png)", "",
    ] + _what_the_numbers_mean(r, m.num_classes)
    if name in LOOK_NOTES:
        lines += ["## What the figures miss", "", LOOK_NOTES[name], ""]
    return "\n".join(lines)


def readme_row(folder: Path) -> str:
    """The README's table row for a shipped checkpoint: its model and headline figures."""
    from gan_core.checkpoints import read_config

    m, meta = read_config(folder)
    r = json.loads((folder / EVALUATION).read_text(encoding="utf-8"))
    model = (f"{m.arch.upper()} {m.image_size} px on {meta.get('dataset', '?')}, "
             + (f"{m.num_classes} classes" if m.num_classes else "unconditional"))
    figures = []
    if r.get("class_consistency") is not None:
        worst, rate = _worst_class(r)
        figures.append(f"class consistency {r['class_consistency']:.1%} (chance {1 / m.num_classes:.1%}; "
                       f"worst class {worst}: {rate:.1%})")
    else:
        hist = r["class_histogram"].values()
        figures.append(f"every judged class in {min(hist):.1%}-{max(hist):.1%} of samples")
    figures.append(f"FD {_fig(r['fd'])} ({r['fd_ratio']:.1f}x the real-vs-real baseline)")
    figures.append(f"precision/recall {r['precision']:.2f}/{r['recall']:.2f}")
    if r.get("memorisation"):
        figures.append(f"nearest-training distance {r['memorisation']['ratio']:.2f}x that of held-out images")
    n = int(r["n"])
    return f"| `{folder.name}` | {model} | " + ("" if n == 10_000 else f"{n:,} samples: ") + "; ".join(figures) + " |"


README_TABLE_HEAD = "| name | model | evaluation (10,000 samples, `python -m gan_core.evaluate`) |"


def readme_table(names: list[str]) -> list[str]:
    return [README_TABLE_HEAD, "|---|---|---|"] + [readme_row(shipped_dir() / name) for name in names]


def write_readme_table(readme: Path, names: list[str]) -> None:
    """Replace the README's shipped-checkpoints table (from its header to the next blank line);
    only for the project's own checkpoints/ folder, not one GAN_STUDIO_SHIPPED points elsewhere."""
    if shipped_dir().resolve() != (ROOT / "checkpoints").resolve():
        return
    lines = readme.read_text(encoding="utf-8").split("\n")
    start = lines.index(README_TABLE_HEAD)
    end = lines.index("", start)
    readme.write_text("\n".join(lines[:start] + readme_table(names) + lines[end:]), encoding="utf-8")


def write_card(folder: Path) -> Path:
    path = folder / CARD
    path.write_text(card(folder), encoding="utf-8")
    return path


def shipped_names() -> list[str]:
    """The shipped checkpoints that carry an evaluation (the judges' folder has none)."""
    root = shipped_dir()
    return sorted(p.name for p in root.iterdir() if (p / CONFIG).is_file() and (p / EVALUATION).is_file())


# -- publishing a run ---------------------------------------------------------------------------
def training_record(run: Any, command: str) -> dict[str, Any]:
    """What the card says about how the checkpoint was trained, kept in its config.json meta."""
    cfg = run.load_config().to_dict()
    wall_file = run.path / ".wall_seconds"
    return {"command": command, "run_config": {"data": cfg["data"], "train": cfg["train"]},
            "wall_seconds": float(wall_file.read_text()) if wall_file.exists() else None,
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
            "device": run.read_status().get("device", "cpu")}


def publish(run_dir: str, name: str, command: str, which: str, n: int) -> Path:
    from gan_core.evaluate import evaluate_checkpoint
    from gan_core.images import grid_layout, make_grid, save_png
    from gan_core.render import RenderService
    from gan_core.runs import RunDir

    run = RunDir(run_dir)
    src = resolve(run.checkpoint(which))
    dst = shipped_dir() / name
    tmp = dst.with_name(f".{name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    shutil.copy2(src / GENERATOR_EMA, tmp / GENERATOR_EMA)
    cfg = json.loads((src / CONFIG).read_text())
    cfg["meta"].update(name=name, published_at=time.strftime("%Y-%m-%d"), training=training_record(run, command))
    cfg["meta"].pop("run", None)
    (tmp / CONFIG).write_text(json.dumps(cfg, indent=2) + "\n")
    shutil.rmtree(dst, ignore_errors=True)
    os.rename(tmp, dst)
    result = evaluate_checkpoint(dst, n=n)
    result["checkpoint"] = f"checkpoints/{name}"  # as the card quotes it, not this machine's absolute path
    (dst / EVALUATION).write_text(json.dumps(result, indent=2) + "\n")
    svc = RenderService(dst, threads=0)
    seeds, labels, cols = grid_layout(svc.cfg.num_classes)
    save_png(make_grid(svc.render_seeds(seeds, labels), nrow=cols), dst / "samples.png")
    write_card(dst)
    print(format_table(result))
    return dst


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="scripts/publish_checkpoint.py", description=__doc__.splitlines()[0])
    p.add_argument("--cards-only", nargs="*", metavar="NAME",
                   help="rewrite these shipped checkpoints' cards (default: all) from their files; nothing else")
    p.add_argument("--run", help="the run directory to publish")
    p.add_argument("--name", help="the shipped checkpoint's name")
    p.add_argument("--command", default="", help="the command that trained it (recorded on the card)")
    p.add_argument("--which", default="best", choices=("latest", "best"),
                   help="best: lowest judge FD when the run evaluated itself (--eval-every), else the newest")
    p.add_argument("--n", type=int, default=10_000, help="samples to evaluate")
    args = p.parse_args(argv)
    if args.cards_only is not None:
        for name in args.cards_only or shipped_names():
            print(f"wrote {write_card(shipped_dir() / name)}")
        write_readme_table(ROOT / "README.md", shipped_names())
        print(f"wrote the shipped-checkpoints table of {ROOT / 'README.md'}")
        return 0
    if not args.run or not args.name:
        p.error("--run and --name are required (or --cards-only)")
    publish(args.run, args.name, args.command, args.which, args.n)
    write_readme_table(ROOT / "README.md", shipped_names())
    return 0


if __name__ == "__main__":
    sys.exit(main())
