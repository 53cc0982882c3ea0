"""Measure recipes against each other at the same wall time: train every side at once (same
contention, one thread each), then judge each with `python -m gan_core.evaluate`.

    python scripts/compare_recipes.py --out /work/wt/runs/h15m/cmp --minutes 8 [--only acgan,r3gan]
    python scripts/compare_recipes.py --out DIR --evaluate-only      # re-read finished runs

Prints a table, one row per run: steps, img/s (median of the metrics rows), FD and its ratio to
the judge's real-vs-real baseline, class agreement (conditional), precision/recall and the
nearest-photo ratio (memorisation), and writes every figure to DIR/compare.json. Timings on a
shared CPU are noisy: compare the ratios of runs measured together, not figures from different
invocations.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from measure_table import Column, chosen, header, line

PY = sys.executable
# the recipes compared (flags for python -m gan_core.train); the first two are the item 1
R3GAN = ["--model", "r3gan", "--image-size", "32", "--loss", "rpgan", "--r1", "0.1", "--r2-gamma", "0.1",
         "--r1-every", "16", "--beta1", "0", "--beta2", "0.99", "--ema-halflife-kimg", "1", "--ngf", "64",
         "--ndf", "32", "--batch-size", "64", "--log-every", "25", "--sample-every", "250", "--ckpt-every", "250"]
RECIPES: dict[str, list[str]] = {
    "acgan": ["--preset", "MNIST digits"],
    "r3gan": [*R3GAN, "--no-aux-on-fake", "--aux-weight", "1"],
    "r3gan-proj": [*R3GAN, "--aux-weight", "0"],
    "dcgan": ["--preset", "MNIST digits (DCGAN)"],
    "r3gan-uncond": [*R3GAN, "--no-use-classes"],
}

COLUMNS = [Column("run", "run", width=14, left=True), Column("steps", "steps", width=7),
           Column("img/s", "img_per_s", ".0f", 7), Column("FD", "fd", ".3f", 9),
           Column("x base", "fd_ratio", ".2f", 7), Column("agreement", "class_consistency", ".1%", 9),
           Column("precision", "precision", ".3f", 9), Column("recall", "recall", ".3f", 7),
           Column("nearest", "mem_ratio", ".2f", 8),
           Column("error", lambda r: "; ".join(r.get("error") or []), left=True)]


def train_all(names: list[str], out: Path, minutes: float, dataset: str) -> None:
    procs = []
    for name in names:
        cmd = [PY, "-m", "gan_core.train", "--dataset", dataset, *RECIPES[name], "--minutes", str(minutes),
               "--steps", "1000000", "--eval-every", "0", "--threads", "1", "--quiet", "--out", str(out / name)]
        log = open(out / f"{name}.log", "w")
        procs.append((name, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), log))
    for name, p, log in procs:
        p.wait()
        log.close()
        print(f"{name}: exit {p.returncode}", flush=True)


def evaluate(run: Path, n: int) -> dict:
    res = subprocess.run([PY, "-m", "gan_core.evaluate", "--checkpoint", str(run), "--json", "--n", str(n),
                          "--threads", "1"], capture_output=True, text=True)
    if res.returncode != 0:
        return {"error": (res.stderr or res.stdout).strip().splitlines()[-1:]}
    return json.loads(res.stdout)


def summary(run: Path, ev: dict) -> dict:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    speeds = [r["img_per_s"] for r in rows if "img_per_s" in r]
    out = {"run": run.name, "steps": rows[-1]["step"] if rows else 0,
           "img_per_s": statistics.median(speeds) if speeds else None}
    for key in ("fd", "fd_real_baseline", "class_consistency", "precision", "recall"):
        if key in ev:
            out[key] = ev[key]
    if "fd" in ev and ev.get("fd_real_baseline"):
        out["fd_ratio"] = round(ev["fd"] / ev["fd_real_baseline"], 2)
    mem = ev.get("memorisation") or {}
    if isinstance(mem, dict):
        out.update({f"mem_{k}": v for k, v in mem.items() if isinstance(v, (int, float))})
    if "error" in ev:
        out["error"] = ev["error"]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--minutes", type=float, default=8.0)
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--only", default=",".join(RECIPES), help=f"comma-separated, from {', '.join(RECIPES)}")
    ap.add_argument("--n", type=int, default=10_000, help="samples per evaluation")
    ap.add_argument("--evaluate-only", action="store_true")
    a = ap.parse_args(argv)
    names = chosen(a.only, RECIPES, ap, "recipe")
    a.out.mkdir(parents=True, exist_ok=True)
    if not a.evaluate_only:
        train_all(names, a.out, a.minutes, a.dataset)
    table = []
    print(header(COLUMNS))
    for name in names:
        row = summary(a.out / name, evaluate(a.out / name, a.n))
        table.append(row)
        print(line(COLUMNS, row), flush=True)
    (a.out / "compare.json").write_text(json.dumps(table, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
