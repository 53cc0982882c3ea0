"""python -m gan_core.train: train a DCGAN or ACGAN into a run directory.

Examples:
    python -m gan_core.train --dataset mnist --model acgan --image-size 32 --steps 5000 --out runs/digits
    python -m gan_core.train --out runs/digits --resume --steps 8000
    torchrun --nproc_per_node=2 -m gan_core.train --dataset orl-faces --model dcgan --out runs/faces
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from typing import Any

from .cli import fraction, help_formatter, positive_int, run_main
from .config import (ARCHS, DEVICES, LOSSES, PRECISIONS, DataConfig, ModelConfig, RunConfig,
                     TrainConfig)
from .errors import ConfigError
from .runs import RunDir

# flags that describe the model/data/loss: fixed once a run exists, so --resume ignores them
_FROZEN = ("dataset", "model", "image_size", "channels", "nz", "ngf", "ndf", "d_norm", "loss",
           "batch_size", "lr", "lr_g", "lr_d", "beta1", "beta2", "ema", "diffaug", "hflip",
           "label_smoothing", "n_critic", "seed", "aux_weight", "gp_weight", "aux_real_only", "r1",
           "r1_every")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m gan_core.train", description="Train a DCGAN or ACGAN; writes a run directory.",
        formatter_class=help_formatter())
    d = p.add_argument_group("data")
    d.add_argument("--dataset", help="built-in name (mnist, orl-faces), an image folder "
                   "(subfolders = classes) or a .zip of one")
    d.add_argument("--channels", type=int, choices=(0, 1, 3), help="1 grey or 3 colour; default: from the data")
    d.add_argument("--hflip", action="store_true", default=None, help="random horizontal flips")
    m = p.add_argument_group("model")
    m.add_argument("--model", choices=ARCHS, help="dcgan (unconditional) or acgan (class-conditional); default dcgan")
    m.add_argument("--image-size", type=int, help="dcgan: 32, 64, 96, 128; acgan: 32, 64 (default 64)")
    m.add_argument("--nz", type=positive_int, help="latent size (default 100)")
    m.add_argument("--ngf", type=positive_int, help="generator width (default 64)")
    m.add_argument("--ndf", type=positive_int, help="discriminator width (default: dcgan 64, acgan 16)")
    m.add_argument("--d-norm", choices=("batch", "layer", "none"),
                   help="discriminator normalisation (default: batch; layer for wgan-gp)")
    t = p.add_argument_group("training")
    length = t.add_mutually_exclusive_group()
    length.add_argument("--steps", type=positive_int, help="total generator updates (default 10000)")
    length.add_argument("--epochs", type=fraction, help="train for this many passes over the data instead")
    t.add_argument("--batch-size", type=positive_int, help="images per step (default 64)")
    t.add_argument("--loss", choices=LOSSES, help="adversarial loss (default bce, non-saturating)")
    t.add_argument("--lr", type=fraction, help="learning rate of both networks (default 2e-4)")
    t.add_argument("--lr-g", type=fraction, help="generator learning rate (overrides --lr)")
    t.add_argument("--lr-d", type=fraction, help="discriminator learning rate (overrides --lr)")
    t.add_argument("--beta1", type=fraction, help="Adam beta1 (default 0.5)")
    t.add_argument("--beta2", type=fraction, help="Adam beta2 (default 0.999)")
    t.add_argument("--n-critic", type=positive_int, help="D updates per G update (default 5 for wgan-gp, else 1)")
    t.add_argument("--gp-weight", type=fraction, help="WGAN-GP penalty weight (default 10)")
    t.add_argument("--r1", type=fraction, help="R1 penalty weight gamma on real images (Mescheder et al. "
                   "2018); 0 = off (default 0)")
    t.add_argument("--r1-every", type=positive_int, help="apply R1 every N D updates, scaled by N (default 16)")
    t.add_argument("--aux-weight", type=fraction, help="ACGAN class-loss weight (default 1)")
    t.add_argument("--aux-real-only", action="store_true", default=None,
                   help="ACGAN: D's classifier learns from real images only (default: real and generated, "
                        "as the ACGAN paper); keeps G honest about classes on small datasets")
    t.add_argument("--ema", type=fraction, help="EMA decay of the generator copy; 0 disables (default 0.999)")
    t.add_argument("--diffaug", help="DiffAugment ops for small sets, e.g. translation,cutout,color "
                   "(default none)")
    t.add_argument("--label-smoothing", type=fraction, help="one-sided label smoothing for bce (default 0)")
    t.add_argument("--seed", type=int, help="random seed (default 0)")
    r = p.add_argument_group("run")
    r.add_argument("--out", required=True, help="run directory to create (or continue with --resume)")
    r.add_argument("--resume", action="store_true", help="continue RUN_DIR from its latest checkpoint "
                   "up to the new --steps/--epochs")
    r.add_argument("--device", choices=DEVICES, default="auto", help="where to train")
    r.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="auto: bf16 autocast on CPUs with bf16 and on CUDA, else fp32")
    r.add_argument("--threads", type=int, default=0, help="CPU threads (0 = all cores)")
    r.add_argument("--log-every", type=positive_int, help="metrics row every N steps (default 50)")
    r.add_argument("--sample-every", type=positive_int, help="fixed-noise grid every N steps (default 500)")
    r.add_argument("--ckpt-every", type=positive_int, help="checkpoint every N steps (default 1000)")
    r.add_argument("--eval-every", type=int, help="light evaluation (judge FD, class consistency on 1000 "
                   "samples) every N steps, for built-in datasets; picks the best checkpoint (default 0 = off)")
    r.add_argument("--dry-run", action="store_true", help="check data and config, time a few steps, "
                   "print the estimate and exit without writing a run")
    r.add_argument("--calibration-steps", type=positive_int, default=5,
                   help="steps timed by --dry-run (after one warm-up step)")
    r.add_argument("--json", action="store_true", help="with --dry-run: print the estimate as JSON")
    r.add_argument("--quiet", action="store_true", help="no progress bar or per-log lines")
    return p


def _given(args: argparse.Namespace, name: str) -> bool:
    return getattr(args, name, None) is not None


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """A fresh run's config: flags over defaults (num_classes/channels are filled from the data)."""
    if not args.dataset:
        raise ConfigError("--dataset is required for a new run (mnist, orl-faces, a folder or a .zip)")
    arch = args.model or "dcgan"
    loss = args.loss or "bce"
    model = dict(arch=arch, image_size=args.image_size or (32 if args.dataset == "mnist" else 64),
                 channels=3, nz=args.nz or 100, ngf=args.ngf or 64, ndf=args.ndf or 0,
                 num_classes=2 if arch == "acgan" else 0,  # placeholder until the data is read
                 d_norm=args.d_norm or ("layer" if loss == "wgan-gp" else "batch"))
    lr = args.lr if _given(args, "lr") else 2e-4
    train: dict[str, Any] = dict(loss=loss, lr_g=args.lr_g or lr, lr_d=args.lr_d or lr, device=args.device,
                                 precision=args.precision, threads=args.threads)
    for flag, key in (("batch_size", "batch_size"), ("beta1", "beta1"), ("beta2", "beta2"),
                      ("n_critic", "n_critic"), ("gp_weight", "gp_weight"), ("aux_weight", "aux_weight"),
                      ("r1", "r1_gamma"), ("r1_every", "r1_every"),
                      ("ema", "ema"), ("diffaug", "diffaug"), ("label_smoothing", "label_smoothing"),
                      ("seed", "seed"), ("steps", "steps"), ("log_every", "log_every"),
                      ("sample_every", "sample_every"), ("ckpt_every", "ckpt_every"),
                      ("eval_every", "eval_every")):
        if _given(args, flag):
            train[key] = getattr(args, flag)
    if args.aux_real_only:
        train["aux_on_fake"] = False
    return RunConfig(model=ModelConfig(**model),
                     data=DataConfig(source=args.dataset, channels=args.channels or 0, hflip=bool(args.hflip)),
                     train=TrainConfig(**train))


def _load_data(cfg: RunConfig, warn: Any) -> Any:
    from .data import load_dataset

    return load_dataset(cfg.data.source, cfg.model.image_size, channels=cfg.data.channels,
                        require_classes=cfg.model.arch == "acgan", warn=warn)


def _fit_model_to_data(cfg: RunConfig, data: Any) -> RunConfig:
    """Fill channels and classes in from the dataset (a new run) or check them (a resumed run)."""
    m = cfg.model
    classes = data.num_classes if m.arch == "acgan" else 0
    names = list(data.class_names) if m.arch == "acgan" else []
    cfg.model = ModelConfig(arch=m.arch, image_size=m.image_size, channels=data.channels, nz=m.nz,
                            ngf=m.ngf, ndf=m.ndf, num_classes=classes, class_names=names, d_norm=m.d_norm)
    cfg.data.fingerprint, cfg.data.num_images = data.fingerprint, len(data)
    return cfg


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from . import distributed as distmod
    from .device import keep_freed_memory, resolve_policy, set_threads

    dist = distmod.from_env()
    run = RunDir(args.out)

    def say(msg: str) -> None:
        if dist.is_main:
            print(msg, file=sys.stderr, flush=True)

    def warn(msg: str) -> None:
        say(f"warning: {msg}")

    if args.resume:
        if not run.exists():
            raise ConfigError(f"nothing to resume: {run.path} has no config.json (start it without --resume)")
        cfg = run.load_config()
        ignored = [f"--{n.replace('_', '-')}" for n in _FROZEN if _given(args, n)]
        if ignored:
            warn(f"--resume keeps the run's own settings; ignoring {', '.join(ignored)}")
        tc = cfg.train
        tc.device, tc.precision, tc.threads = args.device, args.precision, args.threads
        for flag in ("steps", "log_every", "sample_every", "ckpt_every", "eval_every"):
            if _given(args, flag):
                setattr(tc, flag, getattr(args, flag))
    else:
        # Only rank 0 checks: under torchrun the other ranks may start after rank 0 has already
        # created the directory. If rank 0 refuses, torchrun stops the others.
        if dist.is_main and run.exists() and not args.dry_run:
            raise ConfigError(f"run directory {run.path} already exists; pass --resume to continue it "
                              "or choose a new --out")
        cfg = config_from_args(args)

    threads = set_threads(cfg.train.threads)
    keep_freed_memory()
    policy = resolve_policy(cfg.train.device, cfg.train.precision,
                            dist.local_rank if dist.enabled else None)
    t0 = time.perf_counter()
    data = _load_data(cfg, warn)
    load_s = time.perf_counter() - t0
    if args.resume:
        if cfg.data.fingerprint and data.fingerprint != cfg.data.fingerprint:
            raise ConfigError(f"the dataset {cfg.data.source} has changed since this run started "
                              f"({cfg.data.num_images} images then, {len(data)} now); start a new run")
    else:
        cfg = _fit_model_to_data(cfg, data)
    per_epoch = max(1, (len(data) // dist.world) // (cfg.train.batch_size // dist.world))
    if _given(args, "epochs"):
        cfg.train.steps = max(1, round(args.epochs * per_epoch))

    from .training import Trainer

    if args.dry_run:
        return _dry_run(cfg, data, policy, args, threads, load_s, per_epoch)

    if dist.is_main:
        if not args.resume:
            run.create(cfg)
        else:
            run.save_config(cfg)
        run.clear_stop()
    evaluator = None
    if cfg.train.eval_every and dist.enabled:
        warn("--eval-every is not supported with several processes; it is ignored")
    elif cfg.train.eval_every:
        from .evaluate import light_evaluator

        evaluator = light_evaluator(cfg.data.source, cfg.model)
        if evaluator is None:
            warn(f"no judge for {cfg.data.source}: --eval-every is ignored (judges exist for mnist and orl-faces)")
    trainer = Trainer(cfg, data.images, data.labels, run, policy=policy, dist=dist, evaluator=evaluator)
    if args.resume and not run.has_checkpoint("latest"):
        warn(f"{run.path} has no checkpoint yet (it stopped before the first one): starting again from step 0")
        if dist.is_main:
            run.repair_metrics(0)
    elif args.resume:
        trainer.load_checkpoint(run.checkpoint("latest"))
        if dist.is_main:
            run.repair_metrics(trainer.step)
        if trainer.step >= cfg.train.steps:
            say(f"{run.path} is already at step {trainer.step} of {cfg.train.steps}; raise --steps to train further")
            if dist.is_main:
                run.write_status("finished", step=trainer.step, total_steps=cfg.train.steps)
            return 0

    def on_signal(signum: int, frame: Any) -> None:
        say(f"received {signal.Signals(signum).name}: finishing this step, saving a checkpoint, then stopping")
        trainer.request_stop()
        signal.signal(signum, signal.SIG_DFL)  # a second signal ends the process at once

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    say(f"training {cfg.model.arch}-{cfg.model.image_size} on {cfg.data.source} ({len(data)} images, "
        f"{cfg.model.num_classes or 'no'} classes, {cfg.model.channels} channel(s)) | "
        f"{policy.describe()}, {threads} thread(s) | steps {trainer.step} -> {cfg.train.steps} | {run.path}")
    _attach_progress(trainer, cfg.train.steps, quiet=args.quiet or not dist.is_main)
    try:
        state = trainer.run(cfg.train.steps)
    finally:
        distmod.shutdown()
    say(f"{state} at step {trainer.step}; latest checkpoint: {run.checkpoint('latest')}")
    return 0


def _attach_progress(trainer: Any, total: int, quiet: bool) -> None:
    if quiet:
        return
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=total, initial=trainer.step, unit="step", dynamic_ncols=True)

        def on_step(tr: Any, row: dict[str, Any]) -> None:
            bar.update(row["step"] - bar.n)
            bar.set_postfix(loss_d=f"{row['loss_d']:.3f}", loss_g=f"{row['loss_g']:.3f}",
                            img_s=f"{row['img_per_s']:.0f}")
            if row["step"] >= total:
                bar.close()
    else:  # a log file: one plain line per metrics row
        def on_step(tr: Any, row: dict[str, Any]) -> None:
            extra = "".join(f" {k}={row[k]:.3f}" for k in ("acc_real", "acc_fake") if k in row)
            print(f"[{row['step']}/{total}] loss_d={row['loss_d']:.4f} loss_g={row['loss_g']:.4f} "
                  f"D(x)={row['d_real']:.3f} D(G(z))={row['d_fake']:.3f}{extra} "
                  f"img/s={row['img_per_s']:.0f}", file=sys.stderr, flush=True)
    trainer.add_hook("on_step", on_step)


def _dry_run(cfg: RunConfig, data: Any, policy: Any, args: argparse.Namespace, threads: int,
             load_s: float, per_epoch: int) -> int:
    from .training import Trainer

    trainer = Trainer(cfg, data.images, data.labels, None, policy=policy)
    trainer.train_step()  # warm-up: allocations, kernel selection
    t0 = time.perf_counter()
    for _ in range(args.calibration_steps):
        trainer.train_step()
    step_s = (time.perf_counter() - t0) / args.calibration_steps
    g = sum(p.numel() for p in trainer.G.parameters())
    d = sum(p.numel() for p in trainer.D.parameters())
    est = {"dataset": cfg.data.source, "images": len(data), "classes": cfg.model.num_classes,
           "channels": cfg.model.channels, "skipped": len(data.skipped), "model": cfg.model.arch,
           "image_size": cfg.model.image_size, "device": policy.describe(), "threads": threads,
           "generator_params": g, "discriminator_params": d, "data_load_s": round(load_s, 2),
           "ms_per_step": round(step_s * 1000, 2), "img_per_s": round(cfg.train.batch_size / step_s, 1),
           "steps": cfg.train.steps, "steps_per_epoch": per_epoch,
           "eta_s": round(step_s * cfg.train.steps, 1)}
    if args.json:
        print(json.dumps(est))
    else:
        for k, v in est.items():
            print(f"{k:>20}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
