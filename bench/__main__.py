"""python -m bench: measured figures, each printed next to its goal.

    train   --model {dcgan,acgan,r3gan} --image-size N --batch-size N [--device auto|cpu|cuda] [--json]
            the project's real Trainer step (cached data, both updates, the trainer's own
            device/precision policy) against a plain seed-style fp32 step (Sigmoid + BCELoss,
            NCHW, as the tutorials write it) on the same device, same run, same batch, steps
            timed in turns; img/s, ms/step, peak RSS (and GPU memory), FLOPs per step and the
            share of the device's measured peak. r3gan: the automatic preset's recipe, its step
            with and without the lazy R1/R2 penalties (img/s of the amortised step, the
            penalties' share) beside the ACGAN (DCGAN without classes) step, timed in turns
    data    folder ingest (decode + resize into the cache) img/s, and the data share of step time
    peak    the device's matmul and conv GFLOP/s in fp32 and bf16
    render  the render service, p50/p95 per image on 1 thread, idle and while a training runs
    http    the panel's /render over raw HTTP, p50/p95, idle and while a training runs
    flood   16 clients x 50 /render with and without one client flooding past its rate limit
    judge   --dataset SET: what a judge's FD responds to: one real half changed by a pixel
            transform (brightness, contrast, noise, blur, a 1 px shift) over the real-vs-real baseline
    browser the panel in headless Chromium: ONNX export size, in-browser frame time and
            input-to-paint, first frame, pixel difference, and the server path's input-to-paint

Timings are medians over repeated steps after warm-up, the clock read only once a GPU has
finished its queued work; on a shared machine, run it alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from gan_core.cli import positive_int, run_main

from . import goals


def _print(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
        return
    for k, v in result.items():
        print(f"{k:>24}: {v}")


def train_result(r: dict[str, Any]) -> dict[str, Any]:
    """A `bench train` measurement with its goals (and why they are out of reach, where they are)."""
    out = {**r, **goals.train_goals(r["model"], r["image_size"], cuda=r["device"] == "cuda")}
    if r["device"] == "cpu" and r["peak_basis"] == "fp32":
        out["note"] = goals.NO_BF16_NOTE
    return out


def build_parser() -> argparse.ArgumentParser:
    from . import browser, http, judge, load, render

    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    t = sub.add_parser("train", help="training step img/s vs the seed-style step")
    t.add_argument("--model", choices=("dcgan", "acgan", "r3gan"), required=True,
                   help="r3gan: the automatic preset's recipe, its R1/R2 cost and the ACGAN step beside it")
    t.add_argument("--image-size", type=int, required=True)
    t.add_argument("--batch-size", type=positive_int, default=64)
    t.add_argument("--steps", type=positive_int, default=7, help="timed steps (median)")
    t.add_argument("--threads", type=int, default=0)
    t.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="as the trainer's --device: auto takes a CUDA GPU when one is visible")
    t.add_argument("--dataset", default=None,
                   help="a built-in dataset or folder (default: mnist at 32 px, orl-faces otherwise; "
                        "its 400 photos cap the batch, so take mnist for bigger GPU batches)")
    t.add_argument("--json", action="store_true", help="one JSON object; img_per_s is the project's figure")
    d = sub.add_parser("data", help="folder ingest speed and cached loads")
    d.add_argument("--images", type=positive_int, default=600)
    d.add_argument("--json", action="store_true")
    pk = sub.add_parser("peak", help="conv GFLOP/s, fp32 and bf16")
    pk.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    pk.add_argument("--json", action="store_true")
    render.add_arguments(sub.add_parser("render", help="render-service latency, idle and while training",
                                        description=render.__doc__.splitlines()[0]))
    http.add_arguments(sub.add_parser("http", help="the panel's /render over raw HTTP, idle, training, load",
                                      description=http.__doc__.splitlines()[0]))
    load.add_flood_arguments(sub.add_parser("flood", help="the API's per-client rate limit under a flood",
                                            description=load.FLOOD_DOC.splitlines()[0]))
    judge.add_arguments(sub.add_parser("judge", help="what a judge's FD responds to (pixel transforms of real images)",
                                       description=judge.__doc__.splitlines()[0]))
    browser.add_arguments(sub.add_parser("browser", help="in-browser rendering and the server path, in a page",
                                         description=browser.__doc__.splitlines()[0]))
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.what == "train":
        from .train import bench_train
        from .train_r3gan import bench_train_r3gan

        kw = {"steps": args.steps, "threads": args.threads, "device": args.device, "dataset": args.dataset}
        r = train_result(bench_train_r3gan(args.image_size, args.batch_size, **kw) if args.model == "r3gan"
                         else bench_train(args.model, args.image_size, args.batch_size, **kw))
        _print(r if args.json else {**r, **goals.train_verdicts(r)}, args.json)
    elif args.what == "data":
        from .data import bench_data

        _print(bench_data(args.images), args.json)
    elif args.what == "peak":
        from gan_core.device import pick_device

        from .peak import measure_peak

        _print(measure_peak(device=pick_device(args.device)), args.json)
    elif args.what == "render":
        from .render import run_cli

        return run_cli(args)
    elif args.what == "http":
        from .http import run_cli

        return run_cli(args)
    elif args.what == "flood":
        from .load import flood_cli

        return flood_cli(args)
    elif args.what == "judge":
        from .judge import run_cli

        return run_cli(args)
    elif args.what == "browser":
        from .browser import run_cli

        return run_cli(args)
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
