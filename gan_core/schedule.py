"""The learning-rate schedule: constant, then an annealing phase over the end of the run.

At a constant learning rate a GAN stops improving at a floor that the rate's noise sets; lowering
the rates takes it below that floor, but lowering them while the run is still learning fast costs
more than it gains. So the rates fall over the last `train.lr_decay` share of the run, down to
`train.lr_final` x, and with `train.lr_decay_plateau` only once the judge finds the FD has stopped
falling (`stalled`): a set that learns for the whole run keeps its rates. A run's progress is the
larger of its steps' share and, with a time budget, the budget's share (`Trainer.progress`), so a
run that its budget ends still ends annealed.
"""

from __future__ import annotations

import math

# a judged FD at least this share below the best judged before it is progress; less is a plateau
PLATEAU_GAIN = 0.05


def lr_factor(progress: float, start: float | None, final: float) -> float:
    """The learning rates' multiplier at `progress` (0 = the start of the run, 1 = its end): 1 until
    `start`, then half a cosine from 1 down to `final` at progress 1, and `final` after it.
    `start` None (or 1 and above) = constant."""
    if start is None or start >= 1.0:
        return 1.0
    t = min(1.0, max(0.0, (progress - start) / (1.0 - start)))  # 0..1 through the decay phase
    return final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * t))


def stalled(fd: float, best: float, gain: float = PLATEAU_GAIN) -> bool:
    """Whether a judged FD says the run has stopped improving: it is not at least `gain` below the
    best FD judged before it (never at the first judgement, when there is no best yet)."""
    return math.isfinite(best) and fd > (1.0 - gain) * best
