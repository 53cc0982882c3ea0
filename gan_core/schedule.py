"""The learning-rate schedule: constant, then an annealing phase over the end of the run.

At a constant learning rate a GAN stops improving at a floor that the rate's noise sets; lowering
the rates takes it below that floor, but lowering them while the run is still learning fast costs
more than it gains. So the rates fall over the last `train.lr_decay` share of the run, down to
`train.lr_final` x, and with `train.lr_decay_plateau` only once the judge finds the FD has stopped
falling near the data (`stalled`): a set that learns for the whole run keeps its rates. A run's progress is the
larger of its steps' share and, with a time budget, the budget's share (`Trainer.progress`), so a
run that its budget ends still ends annealed.
"""

from __future__ import annotations

import math

# a judged FD at least this share below the best judged before it is progress; less is a plateau
PLATEAU_GAIN = 0.05
# ... but only once the judged FD is within this many times the judgement's real-vs-real baseline:
# far from the data, a flat stretch is a pause of the adversarial game, not the rate's noise floor.
# In a 10-minute Animal-MNIST run the judged FD fell only 3% from step 3,200 to 4,000 (9.18 to
# 8.93, 57x); at constant rates it then fell to 6.80 by step 4,800 and 2.99 by 6,400. The decay
# that started in that pause ended the run at 70x (10k-sample evaluate; that run also fitted 15%
# fewer steps, 6,395 against 7,489), constant rates at 28x.
# MNIST's two plateaus came at 2.7x and 3.1x.
PLATEAU_NEAR = 10.0


def lr_factor(progress: float, start: float | None, final: float) -> float:
    """The learning rates' multiplier at `progress` (0 = the start of the run, 1 = its end): 1 until
    `start`, then half a cosine from 1 down to `final` at progress 1, and `final` after it.
    `start` None (or 1 and above) = constant."""
    if start is None or start >= 1.0:
        return 1.0
    t = min(1.0, max(0.0, (progress - start) / (1.0 - start)))  # 0..1 through the decay phase
    return final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * t))


def stalled(fd: float, best: float, ratio: float | None = None, gain: float = PLATEAU_GAIN,
            near: float = PLATEAU_NEAR) -> bool:
    """Whether a judged FD says the run has stopped improving: it is not at least `gain` below the
    best FD judged before it (never at the first judgement, when there is no best yet), and, where
    the judgement gives its `ratio` to the real-vs-real baseline, that ratio is at most `near`."""
    if ratio is not None and not ratio <= near:  # far from the data (a NaN ratio counts as far)
        return False
    return math.isfinite(best) and fd > (1.0 - gain) * best
