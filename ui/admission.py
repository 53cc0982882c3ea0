"""How many trainings may run at once (pure: counts in, a verdict out)."""

from __future__ import annotations

from dataclasses import dataclass

from gan_core.cores import available_cores


@dataclass
class Admission:
    allowed: bool
    message: str = ""  # a warning when allowed, the reason when refused


def admission(active: int, cores: int | None = None, cuda: bool = False, max_trainings: int | None = None) -> Admission:
    """Concurrency rule. CPU: one more job is allowed with a warning (they share cores), up to
    max(2, cores // 4) at once; CUDA: up to 2 at once (they share GPU memory). A configured
    limit (`max_trainings`, default the GAN_STUDIO_MAX_TRAININGS quota; 0 = none) lowers or
    raises that number."""
    cores = cores or available_cores()
    if max_trainings is None:
        from .quotas import limits

        max_trainings = limits().max_trainings
    limit = max_trainings or (2 if cuda else max(2, cores // 4))
    if active >= limit:
        where = "this studio allows" if max_trainings else "this machine allows"
        setting = " (GAN_STUDIO_MAX_TRAININGS)" if max_trainings else ""
        return Admission(False, f"{active} training{'s are' if active != 1 else ' is'} already running; {where} "
                                f"at most {limit} at once{setting}. Stop one on the Monitor page first.")
    if active:
        where = "the GPU and its memory" if cuda else f"the {cores} CPU cores"
        running = "Another training is" if active == 1 else f"{active} trainings are"
        return Admission(True, f"{running} already running: they will share {where}, so each will be slower.")
    return Admission(True, "")
