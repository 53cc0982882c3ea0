"""The guard's end-of-run verdict: does the final generator draw something, or did the run finish
with garbage? A guarded run that ends badly says so ("finished, but ...") instead of finishing silently.

Two sources, both cheap:
- the judge, where one exists without training one (the shipped judge of mnist / orl-faces, or the
  cached judge of a labelled upload, `dataset_judges`): `VERDICT_SAMPLES` samples (seeds 0..N-1,
  classes spread evenly) are rendered and judged. A conditional generator passes when the judge
  reads at least `CONSISTENCY_BAR` of them as the class asked for; any generator fails when more
  than `ONE_CLASS_BAR` of them are judged one class (collapsed onto it: the largest MNIST class
  is ~11% of the digits);
- the last logged row, always: D(G(z)) below the D-overpowering floor (bce), the sample
  diversity below the collapse floor, or (conditional) the diversity within the classes below
  its floor (`guard_rules.Rules`): a judge reads a generator that draws one picture per class
  as perfectly consistent, so this one comes from the metrics.
Without a judge (an unlabelled upload, or a labelled one whose judge is not built yet) only the
metrics speak, and the verdict says that no judge read the samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .config import ModelConfig, RunConfig
from .guard_rules import Rules, class_low, finite
from .judges import Judge

VERDICT_SAMPLES = 300  # rendered and judged once, at the end (about a second on 2 cores at 32 px)
CONSISTENCY_BAR = 0.8  # conditional: the share of samples the judge must read as the class asked for
ONE_CLASS_BAR = 0.5  # more than this share of samples judged one class: collapsed onto it


@dataclass(frozen=True)
class Verdict:
    good: bool
    text: str  # one line: "finished: ..." or "finished, but ..."
    evidence: dict[str, Any] = field(default_factory=dict)


def metric_problems(row: dict[str, Any], loss: str, rules: Rules = Rules()) -> list[str]:
    """What the last logged row says is wrong with the generator ([] when nothing)."""
    out = []
    if loss == "bce" and finite(row.get("d_fake")) and float(row["d_fake"]) < rules.d_fake_floor:
        out.append(f"D(G(z)) is pinned at {float(row['d_fake']):.3f} (below {rules.d_fake_floor:g})")
    if finite(row.get("diversity")) and float(row["diversity"]) < rules.diversity_floor:
        out.append(f"sample diversity is {float(row['diversity']):.2f} (below {rules.diversity_floor:g})")
    if class_low(row, rules):
        out.append(f"within each class the samples vary {float(row['class_diversity']):.2f} as much as real images "
                   f"(below {rules.class_floor:g}): about one picture per class, whatever the seed")
    return out


def judged_problems(preds: np.ndarray, wanted: np.ndarray | None, class_names: list[str]) -> tuple[list[str], dict[str, Any]]:
    """What the judge's readings of the samples say: `preds` the judged classes, `wanted` the classes
    asked for in the judge's numbering (None: an unconditional generator). (problems, evidence)."""
    n = len(preds)
    share = np.bincount(preds, minlength=len(class_names)) / max(1, n)
    top = int(share.argmax())
    ev: dict[str, Any] = {"samples": n, "top_class": class_names[top], "top_class_share": round(float(share[top]), 4)}
    out = []
    if wanted is not None:
        cc = float((preds == wanted).mean())
        ev["class_consistency"] = round(cc, 4)
        if cc < CONSISTENCY_BAR:
            out.append(f"the judge reads only {cc:.0%} of {n} samples as the class asked for "
                       f"(chance {1 / len(class_names):.0%}, bar {CONSISTENCY_BAR:.0%})")
    if share[top] > ONE_CLASS_BAR:
        out.append(f"{share[top]:.0%} of {n} samples are judged one class ({class_names[top]})")
    return out, ev


def find_judge(source: str, fingerprint: str) -> Judge | None:
    """The judge that can read this dataset's samples without being trained now, or None."""
    from .dataset_judges import is_builtin, judge_folder
    from .errors import CheckpointError
    from .judges import has_judge, judge_for_dataset, load_judge

    try:
        if is_builtin(source):
            return judge_for_dataset(source) if has_judge(source) else None
        folder = judge_folder(fingerprint) if fingerprint else None
        if folder is None or not folder.is_dir():
            return None
        judge = load_judge(folder)
        return judge if judge.cfg.fingerprint == fingerprint else None
    except CheckpointError:
        return None


def read_samples(generator: torch.nn.Module, cfg: ModelConfig, judge: Judge, n: int = VERDICT_SAMPLES
                 ) -> tuple[list[str], dict[str, Any]]:
    """Render n samples of `generator` and let `judge` read them (judged_problems)."""
    from .evaluate import class_map, render

    images, labels = render(generator, cfg, n)
    preds = judge.run(images)[1]
    mapping = class_map(list(cfg.class_names), judge.cfg) if cfg.conditional else None
    return judged_problems(preds, mapping[labels] if mapping is not None else None, list(judge.cfg.class_names))


def end_of_run(generator: torch.nn.Module, cfg: RunConfig, last_row: dict[str, Any], rules: Rules = Rules(),
               judge: Judge | None = None) -> Verdict:
    """The verdict on a finished run's final (inference) generator; `judge` defaults to `find_judge`'s."""
    problems = metric_problems(last_row, cfg.train.loss, rules)
    evidence: dict[str, Any] = {k: last_row[k] for k in ("d_fake", "diversity", "class_diversity") if finite(last_row.get(k))}
    judge = judge or find_judge(cfg.data.source, cfg.data.fingerprint)
    if judge is not None:
        found, ev = read_samples(generator, cfg.model, judge)
        problems += found
        evidence.update(ev, judge=judge.name)
    if problems:
        hint = ("" if metric_problems(last_row, cfg.train.loss, rules) else
                " (its last log's D(G(z)) and diversity are in range: it may only need more steps, --resume "
                "with a higher --steps)")
        return Verdict(False, "finished, but " + "; ".join(problems) + hint, evidence)
    if judge is None:
        return Verdict(True, "finished: no judge read the samples (none for this dataset yet); the last log's "
                       "D(G(z)) and sample diversity are in range", evidence)
    said = (f"the judge reads {evidence['class_consistency']:.0%} of {evidence['samples']} samples as the class "
            f"asked for (bar {CONSISTENCY_BAR:.0%})" if "class_consistency" in evidence else
            f"the judge finds no class taking more than {ONE_CLASS_BAR:.0%} of {evidence['samples']} samples")
    return Verdict(True, f"finished: {said}", evidence)
