"""python -m gan_core.train: train a DCGAN or ACGAN into a run directory.

Examples:
    python -m gan_core.train --dataset mnist --model acgan --image-size 32 --steps 5000 --out runs/digits
    python -m gan_core.train --dataset mnist --preset "MNIST digits" --lr-g 1e-4 --out runs/digits
    python -m gan_core.train --out runs/prepared       # a run whose config.json is written already
    python -m gan_core.train --out runs/digits --resume --steps 8000
    torchrun --nproc_per_node=2 -m gan_core.train --dataset orl-faces --model dcgan --out runs/faces

The config flags are generated from the RunConfig fields (gan_core.config, gan_core.cli); the
run-only flags (--out, --resume, --preset, --epochs, --dry-run, ...) are written here.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import signal
import sys
import threading
import time
from typing import Any

from . import presets
from .cli import add_config_flags, fraction, given_options, help_formatter, positive_int, run_main
from .config import (R3GAN_ONLY, RunConfig, build_run_config, check_dataset, dataset_warnings, fit_to_data, options,
                     steps_for_epochs)
from .errors import ConfigError
from .runs import RunDir

# options fixed once a run exists: --resume (and a prepared run) ignore them
FROZEN = tuple(o.key for o in options() if not o.resume)
# what a resumed run takes from the command line rather than from its config when not given:
# the machine it runs on now
PER_LAUNCH = ("train.device", "train.precision", "train.threads")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m gan_core.train", description="Train a DCGAN or ACGAN; writes a run directory.",
        formatter_class=help_formatter())
    add_config_flags(p)
    t = p.add_argument_group("training shortcuts")
    t.add_argument("--preset", help="start from a preset; flags given override it. 'auto' chooses one from the "
                   f"dataset (gan_core.presets); named ones: {'; '.join(p for p in presets.PRESETS if p != presets.AUTO)}")
    t.add_argument("--lr", type=fraction, help="learning rate of both networks (--lr-g / --lr-d override it)")
    t.add_argument("--epochs", type=fraction, help="train for this many passes over the data instead of --steps")
    r = p.add_argument_group("run")
    r.add_argument("--out", required=True, help="run directory: a new one, one prepared with a config.json "
                   "(trained as written), or one to continue with --resume")
    r.add_argument("--resume", action="store_true", help="continue RUN_DIR from its latest checkpoint "
                   "up to the new --steps/--epochs")
    r.add_argument("--dry-run", action="store_true", help="check data and config, time a few steps, "
                   "print the estimate and exit without writing a run")
    r.add_argument("--calibration-steps", type=positive_int, default=5,
                   help="at least this many steps timed by --dry-run (after warm-up steps, which are not counted)")
    r.add_argument("--calibration-seconds", type=fraction, default=3.0,
                   help="--dry-run times steps for at least this many seconds too")
    r.add_argument("--json", action="store_true", help="with --dry-run: print the estimate as JSON")
    r.add_argument("--quiet", action="store_true", help="no progress bar or per-log lines")
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.epochs is not None and getattr(args, "train.steps") is not None:
        parser.error("argument --epochs: not allowed with argument --steps")
    return args


def given(args: argparse.Namespace) -> dict[str, Any]:
    """The config options the command line sets (--lr fills in whichever of --lr-g/--lr-d is not given)."""
    values = given_options(args)
    if args.lr is not None:
        for key in ("train.lr_g", "train.lr_d"):
            values.setdefault(key, args.lr)
    return values


def config_from_args(args: argparse.Namespace, say: Any = None) -> RunConfig:
    """A fresh run's config: the flags over the preset over the defaults (the data-derived
    fields are filled in from the data once it is loaded)."""
    values = given(args)
    if not values.get("data.source"):
        raise ConfigError("--dataset is required for a new run (mnist, orl-faces, a folder or a .zip)",
                          field="data.source")
    base = preset_values(args.preset, values["data.source"], say) if args.preset else {}
    if values.get("model.arch", base.get("model.arch")) != "r3gan":  # the preset's R3GAN options do not apply
        base = {k: v for k, v in base.items() if k not in R3GAN_ONLY}
    changed = {k: v for k, v in values.items() if k in base and k != "data.source" and base[k] != v}
    if changed and say is not None:  # the preset's line above says its own values: these replace them
        def shown(v: Any) -> str:
            return f"{v:g}" if isinstance(v, float) else str(v)
        say("flags over the preset: " + ", ".join(f"{k.split('.', 1)[1]} {shown(base[k])} -> {shown(v)}"
                                                   for k, v in changed.items()))
    return build_run_config({**base, **values})


def preset_values(name: str, source: str, say: Any = None) -> dict[str, Any]:
    """A preset's options; the automatic one's from a quick survey of the data (counts, classes and
    picture size, without decoding), its choices said on stderr."""
    if not presets.is_auto(name):
        return presets.get(name).values
    from .data.loader import survey

    found = survey(source)
    preset = presets.auto(presets.DataFacts(found.images, len(found.class_counts), presets.typical_side(found.sizes)))
    if say is not None:
        say(f"preset auto: {preset.summary}")
    return preset.values


def _overrides(cfg: RunConfig, args: argparse.Namespace, warn: Any, what: str, per_launch: bool) -> RunConfig:
    """An existing config with the options a running/resumed run may change set from the flags."""
    values = given(args)
    ignored = [o.flag for o in options() if o.key in values and o.key in FROZEN]
    if ignored or args.preset:
        warn(f"{what} keeps the run's own settings; ignoring {', '.join(ignored + ['--preset'] * bool(args.preset))}")
    for o in options():
        if o.key in FROZEN:
            continue
        section = getattr(cfg, o.key.split(".")[0])
        if o.key in values:
            setattr(section, o.name, values[o.key])
        elif per_launch and o.key in PER_LAUNCH:
            setattr(section, o.name, o.default)
    return RunConfig.from_dict(cfg.to_dict())  # the values given are checked as a new config's are


def _load_data(cfg: RunConfig, warn: Any) -> Any:
    from .data import load_dataset

    return load_dataset(cfg.data.source, cfg.model.image_size, channels=cfg.data.channels, warn=warn)


def _prepared(args: argparse.Namespace) -> bool:
    """Only --out (and options a run may change) given: train the config.json already in RUN.
    Decided from the flags alone, so every process of a torchrun job takes the same path."""
    return not args.resume and not args.preset and not (set(given(args)) & set(FROZEN))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from . import distributed as distmod
    from .device import keep_freed_memory, resolve_policy, set_threads

    dist = distmod.from_env()
    run = RunDir(args.out)

    def say(msg: str) -> None:
        if dist.is_main:
            print(msg, file=sys.stderr, flush=True)

    def warn(msg: str) -> None:
        say(f"warning: {msg}")

    if getattr(args, "train.minutes", None) == 0:
        say("--minutes 0: no time limit; training runs for its steps")
    prepared = _prepared(args)
    if args.resume:
        if not run.exists():
            raise ConfigError(f"nothing to resume: {run.path} has no config.json (start it without --resume)")
        cfg = _overrides(run.load_config(), args, warn, "--resume", per_launch=True)
        if "train.precision" not in given(args) and any(
                (ev.get("changes") or {}).get("train.precision") for ev in run.read_events()):
            cfg.train.precision = "fp32"  # a guard remedy (gan_core.guard) holds across resumes
    elif prepared and run.exists():
        if dist.is_main and run.started() and not args.dry_run:
            raise ConfigError(f"run directory {run.path} has already been trained; pass --resume to continue it "
                              "or choose a new --out")
        cfg = _overrides(run.load_config(), args, warn, "a prepared run", per_launch=False)
    else:
        # Only rank 0 checks: under torchrun the other ranks may start after rank 0 has already
        # created the directory. If rank 0 refuses, torchrun stops the others.
        if dist.is_main and run.exists() and not args.dry_run:
            raise ConfigError(f"run directory {run.path} already exists; pass --resume to continue it "
                              "or choose a new --out")
        cfg = config_from_args(args, say)

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
        check_dataset(cfg.model.arch, len(data), data.num_classes)
    else:
        cfg = fit_to_data(cfg, data.channels, list(data.class_names), data.fingerprint, len(data))
    counts = {name: int((data.labels == k).sum()) for k, name in enumerate(data.class_names)}
    for message in dataset_warnings(cfg.model.arch, counts, len(data)):
        warn(message)
    per_epoch = steps_for_epochs(1, len(data), cfg.train.batch_size, dist.world)
    if args.epochs is not None:
        cfg.train.steps = steps_for_epochs(args.epochs, len(data), cfg.train.batch_size, dist.world)

    from .training import Trainer

    if args.dry_run:
        return _dry_run(cfg, data, policy, args, threads, load_s, per_epoch)

    if dist.is_main:
        if not args.resume and not prepared:
            run.create(cfg)
        else:
            run.save_config(cfg)
        run.clear_stop()
    evaluator = None
    if cfg.train.eval_every and dist.enabled:
        warn("--eval-every is not supported with several processes; it is ignored")
    elif cfg.train.eval_every:
        from .evaluate import light_evaluator

        evaluator = light_evaluator(cfg.data.source, cfg.model, data=data, log=say)  # may build the judge: untimed
        if evaluator is None:
            warn(f"the shipped judge of {cfg.data.source} is missing: --eval-every is ignored")
    if cfg.train.lr_decay > 0 and cfg.train.lr_decay_plateau and evaluator is None:
        last = cfg.train.lr_decay_last_share
        warn("--lr-decay-plateau waits for the judge to find a plateau, and this run is not judged "
             "(--eval-every 0): the learning rates stay constant"
             + (f" until the last {last:.0%} of the run (--lr-decay-last)" if last > 0 else ""))
    trainer = Trainer(cfg, data.images, data.labels, run, policy=policy, dist=dist, evaluator=evaluator)
    if cfg.train.guard and dist.enabled:
        warn("--guard is not supported with several processes; it is off for this run")
    elif cfg.train.guard:
        from .guard import Guard

        trainer.guard = Guard()
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

    budget = f", time budget {cfg.train.minutes:g} min" if cfg.train.minutes else ""
    say(f"training {cfg.model.arch}-{cfg.model.image_size} on {cfg.data.source} ({len(data)} images, "
        f"{cfg.model.num_classes or 'no'} classes, {cfg.model.channels} channel(s)) | "
        f"{policy.describe()}, {threads} thread(s) | steps {trainer.step} -> {cfg.train.steps}{budget} | {run.path}")
    _attach_progress(trainer, cfg.train.steps, quiet=args.quiet or not dist.is_main)
    timer = TimeBudget(trainer, cfg.train.minutes)
    try:
        state = trainer.run(cfg.train.steps)
        by_budget = state == "stopped" and timer.reached  # the end the user asked for: finished
        ended = state == "finished" or by_budget
        verdict = trainer.guard.finish(trainer) if ended and trainer.guard is not None else None
    finally:
        timer.cancel()
        distmod.shutdown()
    # a judged run (one process) that ended as asked, its steps or its time: best checked against latest;
    # not after a Stop, nor where the guard stopped it and chose what to keep
    guard_stopped = any(ev.get("action") == "stop" for ev in run.read_events()) if cfg.train.guard else False
    if evaluator is not None and ended and not guard_stopped:
        from .evaluate import REJUDGE_SAMPLES, REJUDGE_SEED, light_evaluator

        judge = light_evaluator(cfg.data.source, cfg.model, n=REJUDGE_SAMPLES, data=data, log=lambda m: None,
                                seed=REJUDGE_SEED)
        if judge is not None and (event := trainer.rejudge_best(judge)):
            say(f"{event['text']} ({REJUDGE_SAMPLES:,} samples on latents of their own; FD "
                + ", ".join(f"{k} {v:.4g}" for k, v in event["evidence"].items()) + ")")
    if dist.is_main and ended:  # status.json first: whoever reads the log's last lines finds it final
        extra: dict[str, Any] = {"note": f"time budget of {cfg.train.minutes:g} min reached"} if by_budget else {}
        if verdict is not None:  # the end-of-run verdict (gan_core.guard_verdict), also for the Monitor
            extra.update(verdict=verdict.text, verdict_good=verdict.good)
        if extra:
            run.write_status("finished", **extra)
    if by_budget:
        say(f"time budget of {cfg.train.minutes:g} min reached at step {trainer.step}; "
            f"latest checkpoint: {run.checkpoint('latest')} (--resume continues)")
    else:
        say(f"{state} at step {trainer.step}; latest checkpoint: {run.checkpoint('latest')}")
    if dist.is_main and (best := run.best_metrics()):
        say(f"best judged checkpoint, the run's result (evaluate, sample and Publish take it): step "
            f"{best.get('step')}, judged FD {best['eval_fd']:.4g}: {run.checkpoint('best')}")
    if cfg.train.guard and dist.is_main and (event := run.last_event()):
        say(f"guard: {len(run.read_events())} event(s); the last, at step {event.get('step')}: {event.get('text')}")
    return 0


class TimeBudget:
    """train.minutes: asks the trainer to stop (after its current step, with a checkpoint) once
    that much time has passed since training began; 0 = no budget. Started after the data is
    loaded, so loading does not count. The trainer's lr schedule reads the budget's share used
    from the same clock (`Trainer.time_progress`)."""

    def __init__(self, trainer: Any, minutes: float) -> None:
        self.reached = False
        self._trainer = trainer
        self._timer: threading.Timer | None = None
        if minutes > 0:
            start, seconds = time.perf_counter(), minutes * 60.0
            if not trainer.dist.enabled:  # ranks' clocks differ: under torchrun the lr follows the steps alone
                trainer.time_progress = lambda: (time.perf_counter() - start) / seconds  # the lr schedule's clock
            self._timer = threading.Timer(seconds, self._expire)
            self._timer.daemon = True
            self._timer.start()

    def _expire(self) -> None:
        self.reached = True
        self._trainer.request_stop()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


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


def due_count(steps: int, *every: int) -> int:
    """How many of the steps 1..steps a run does some periodic work at: the steps divisible by any
    period in `every` (0 = never), plus the last step, where the loop always does it."""
    periods = sorted({e for e in every if e and e > 0})
    if steps <= 0:
        return 0
    count = 0
    for k in range(1, len(periods) + 1):  # inclusion-exclusion over the periods
        for combo in itertools.combinations(periods, k):
            count += (-1) ** (k + 1) * (steps // math.lcm(*combo))
    at_end = any(steps % e == 0 for e in periods)
    return count + (0 if at_end else 1)


MAX_WARMUP_STEPS = 10


def _cpu_share(cpu_s: float, walls: tuple[float, ...], counts: tuple[float, ...]) -> float:
    """CPU seconds of periodic work measured together (`cpu_s` over works that took `walls` once
    each), split in proportion to their wall times and counted `counts` times."""
    total = sum(walls)
    return sum(cpu_s * w / total * c for w, c in zip(walls, counts)) if total > 0 else 0.0
MAX_TIMED_STEPS = 2000


def _dry_run(cfg: RunConfig, data: Any, policy: Any, args: argparse.Namespace, threads: int,
             load_s: float, per_epoch: int) -> int:
    """Estimate the training loop's time as the real run pays it: the same threads, precision and
    memory layout (the same Trainer under the same policy); warm-up steps (allocations, kernel and
    oneDNN primitive selection) run until two in a row agree within 10% and are not averaged in;
    whole R1 periods are timed, at least --calibration-steps and --calibration-seconds; then one
    sample grid, one checkpoint (latest + best), one metrics row and one judge evaluation are timed
    in a scratch folder and counted as often as the run will do them."""
    import shutil
    import tempfile
    from pathlib import Path

    from .device import synchronize
    from .training import Trainer

    trainer = Trainer(cfg, data.images, data.labels, None, policy=policy)
    tc = cfg.train

    cpu = {"s": 0.0}  # this process's CPU seconds in the timed work (a busy machine inflates wall time only)

    def timed(fn: Any, n: int = 1) -> float:
        synchronize(policy.device)  # a CUDA step returns before its kernels have run
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(n):
            fn()
        synchronize(policy.device)
        cpu["s"] += time.process_time() - c0
        return time.perf_counter() - t0

    warm, warm_s, prev = 0, 0.0, None
    while warm < MAX_WARMUP_STEPS:
        s = timed(trainer.train_step)
        warm, warm_s = warm + 1, warm_s + s
        if warm >= 2 and prev is not None and abs(s - prev) <= 0.1 * prev:
            break
        prev = s
    r1_period = tc.r1_every if tc.r1_gamma > 0 and tc.loss != "wgan-gp" else 1
    chunk = max(1, -(-5 // r1_period)) * r1_period  # whole R1 periods (one R1 step in each)
    n, spent, cpu["s"] = 0, 0.0, 0.0
    while (n < args.calibration_steps or spent < args.calibration_seconds) and n < MAX_TIMED_STEPS:
        spent += timed(trainer.train_step, chunk)
        n += chunk
    step_s, step_cpu_s = spent / n, cpu["s"] / n

    # the periodic work of the loop, timed once each in a scratch run folder
    evaluator = None
    if tc.eval_every:
        from .evaluate import light_evaluator

        evaluator = light_evaluator(cfg.data.source, cfg.model, data=data)  # the images loaded above, not again
    scratch = Path(tempfile.mkdtemp(prefix="gan-studio-calibration-"))
    try:
        rd = RunDir(scratch / "run")
        rd.create(cfg)
        trainer.run_dir = rd
        stats = trainer.train_step()  # a new step: the inference copy is rebuilt, as in the run
        cpu["s"] = 0.0
        infer_s = timed(trainer.inference_generator)
        infer_cpu_s = cpu["s"]
        sample_s = timed(trainer.save_samples)
        ckpt_s = timed(lambda: trainer._checkpoint({}, True))
        acc: dict[str, Any] = {}
        counts: dict[str, Any] = {}
        trainer._accumulate(acc, counts, stats)

        def log_once() -> None:
            row = trainer._log_row(acc, counts, 1.0, 1)
            rd.append_metrics(row)
            rd.write_status("running", step=trainer.step, total_steps=tc.steps, eta_s=0.0)

        log_s = timed(log_once, 3) / 3
        eval_s = timed(lambda: evaluator(trainer.inference_generator())) if evaluator is not None else 0.0
        work_cpu_s = cpu["s"] - infer_cpu_s  # one sample grid, one checkpoint, three rows, one judge run
    finally:
        trainer.run_dir = None
        shutil.rmtree(scratch, ignore_errors=True)

    steps = tc.steps
    judge_every = tc.eval_every if evaluator is not None else 0
    n_sample, n_ckpt = due_count(steps, tc.sample_every), due_count(steps, tc.ckpt_every)
    n_log, n_eval = due_count(steps, tc.log_every, judge_every), due_count(steps, judge_every) if judge_every else 0
    n_infer = due_count(steps, tc.sample_every, tc.ckpt_every, judge_every)
    overhead = {"warmup_s": max(0.0, warm_s - warm * step_s), "inference_copies_s": n_infer * infer_s,
                "samples_s": n_sample * sample_s, "checkpoints_s": n_ckpt * ckpt_s, "logs_s": n_log * log_s,
                "judge_s": n_eval * eval_s}
    train_s = step_s * steps
    loop_s = train_s + sum(overhead.values())
    budget_s = tc.minutes * 60.0 if tc.minutes > 0 else None
    g = sum(p.numel() for p in trainer.G.parameters())
    d = sum(p.numel() for p in trainer.D.parameters())
    est = {"dataset": cfg.data.source, "images": len(data), "classes": cfg.model.num_classes,
           "channels": cfg.model.channels, "skipped": len(data.skipped), "model": cfg.model.arch,
           "image_size": cfg.model.image_size, "device": policy.describe(), "threads": threads,
           "generator_params": g, "discriminator_params": d, "data_load_s": round(load_s, 2),
           "warmup_steps": warm, "timed_steps": n, "timed_s": round(spent, 2),
           "ms_per_step": round(step_s * 1000, 2), "img_per_s": round(cfg.train.batch_size / step_s, 1),
           "steps": steps, "steps_per_epoch": per_epoch, "train_s": round(train_s, 1),
           "overhead_s": round(sum(overhead.values()), 1),
           "overhead": {k: round(v, 2) for k, v in overhead.items()},
           "per_event_s": {"sample": round(infer_s + sample_s, 3), "checkpoint": round(ckpt_s, 3),
                           "log": round(log_s, 4), "judge": round(eval_s, 3)},
           "loop_s": round(loop_s, 1), "budget_s": budget_s,
           # CPU seconds of the loop (this process, all its threads): what a busy machine does not inflate
           "cpu_ms_per_step": round(step_cpu_s * 1000, 2),
           "loop_cpu_s": round(step_cpu_s * steps + n_infer * infer_cpu_s + _cpu_share(
               work_cpu_s, (sample_s, ckpt_s, 3 * log_s, eval_s), (n_sample, n_ckpt, n_log / 3, n_eval)), 1),
           "eta_s": round(min(loop_s, budget_s) if budget_s else loop_s, 1)}
    if args.json:
        print(json.dumps(est))
    else:
        for k, v in est.items():
            print(f"{k:>20}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
