"""How many trainings may run at once (pure: counts in, a verdict out)."""

from __future__ import annotations

from dataclasses import dataclass

from gan_core.cores import available_cores


@dataclass
class Admission:
    allowed: bool
    message: str = ""  # a warning when allowed, the reason when refused


def admission(active: int, cores: int | None = None, cuda: bool = False) -> Admission:
    """Concurrency rule. CPU: one more job is allowed with a warning (they share cores), up to
    max(2, cores // 4) at once; CUDA: up to 2 at once (they share GPU memory)."""
    cores = cores or available_cores()
    limit = 2 if cuda else max(2, cores // 4)
    if active >= limit:
        return Admission(False, f"{active} trainings are already running; this machine allows at most "
                                f"{limit} at once. Stop one on the Monitor page first.")
    if active:
        where = "the GPU and its memory" if cuda else f"the {cores} CPU cores"
        running = "Another training is" if active == 1 else f"{active} trainings are"
        return Admission(True, f"{running} already running: they will share {where}, so each will be slower.")
    return Admission(True, "")
