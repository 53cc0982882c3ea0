"""`python -m bench render`: render-service latency, p50/p95 per image on 1 thread, idle and while a training runs.

    python -m bench render --checkpoint DIR [--n 300] [--no-train] [--json]

Times `RenderService.render(seed)` (generator forward + uint8 conversion) for one image at a
time on one thread, and the same plus a PNG encode (what a UI sends). "While training" starts
`python -m gan_core.train` on one thread (the other core) in a temporary run directory and
measures once it is taking steps. Prints figures and the goal (`goals.RENDER_P95_MS`); it
asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from gan_core.errors import GanStudioError

from .goals import render_verdict
from .load import DEFAULT_ARGS, TrainingLoad
from .timing import percentile, percentiles, time_calls


def _figures(wall: list[float], cpu: list[float]) -> dict[str, float]:
    out = percentiles(wall)
    out["cpu_p50_ms"] = round(percentile(cpu, 50), 2)
    return out


def measure(svc: Any, n: int, warmup: int) -> dict[str, dict[str, float]]:
    from gan_core.images import encode_png

    return {"render": _figures(*time_calls(svc.render, n, warmup)),
            "render+png": _figures(*time_calls(lambda s: encode_png(svc.render(s)), n, warmup, start=10_000))}


def run(checkpoint: str | Path, n: int = 300, warmup: int = 20, train: bool = True,
        train_args: Sequence[str] = DEFAULT_ARGS) -> dict[str, Any]:
    from gan_core.render import RenderService

    svc = RenderService(checkpoint, threads=1)
    info = svc.info
    result: dict[str, Any] = {"checkpoint": str(checkpoint), "arch": info["arch"],
                              "image_size": info["image_size"], "threads": 1,
                              "idle": measure(svc, n, warmup)}
    if hasattr(os, "getloadavg"):  # how busy the machine was (other processes skew wall times)
        result["loadavg"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    if train:
        with TrainingLoad(train_args) as load:
            result["training"] = measure(svc, n, warmup)
            result["training"]["train_steps_during"] = load.steps() - load.steps_at_start
    return result


def report(result: dict[str, Any]) -> str:
    lines = [f"render service: {result['arch']} {result['image_size']} px, 1 thread, one image per call "
             f"(load average {result['loadavg']})" if result.get("loadavg") else
             f"render service: {result['arch']} {result['image_size']} px, 1 thread, one image per call"]
    for phase in ("idle", "training"):
        if phase not in result:
            continue
        for what in ("render", "render+png"):
            r = result[phase][what]
            lines.append(f"  {phase:<8} {what:<11} p50 {r['p50_ms']:6.2f} ms  p95 {r['p95_ms']:6.2f} ms  "
                         f"mean {r['mean_ms']:6.2f} ms  max {r['max_ms']:6.2f} ms  "
                         f"(CPU p50 {r['cpu_p50_ms']:.2f} ms, n={r['n']})")
        if phase == "training":
            lines.append(f"  (the training took {result['training']['train_steps_during']} steps meanwhile)")
    lines.append(render_verdict(result))
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="checkpoint folder (or run directory)")
    p.add_argument("--n", type=int, default=300, help="timed renders per phase")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--no-train", action="store_true", help="measure idle only")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def run_cli(a: argparse.Namespace) -> int:
    try:
        result = run(a.checkpoint, n=a.n, warmup=a.warmup, train=not a.no_train)
    except (GanStudioError, RuntimeError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result) if a.json else report(result))
    return 0
