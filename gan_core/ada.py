"""Adaptive discriminator augmentation (ADA, Karras et al. 2020): the controller of p.

The trainer applies its DiffAugment ops (gan_core.augment) to every image D sees, each with
probability p. Every `interval` D updates the controller reads the overfitting heuristic
r_t = E[sign(D(real))] over those updates and moves p towards the value where r_t equals the
target: up when r_t > target (D is too sure of the real images), down otherwise, by at most
batch * interval / (ADJUST_KIMG * 1000) per adjustment, so p could cross [0, 1] in
ADJUST_KIMG thousand images. p stays in [0, 1).

For a relativistic loss (rpgan) D's logits are only defined up to a shared shift, so the sign of
D(real) alone means nothing: the heuristic there is r_t = E[sign(D(real) - D(fake))], the share
of pairs D ranks the right way round (1 when D separates every pair, 0 when it is guessing).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

INTERVAL = 4  # D updates between adjustments
ADJUST_KIMG = 20.0  # thousands of images over which p may move by 1 (ADA's paper: 500, for long GPU runs)
P_MAX = 1.0 - 1e-6  # p stays below 1


@dataclass
class AdaController:
    target: float
    p: float = 0.0
    interval: int = INTERVAL
    adjust_kimg: float = ADJUST_KIMG
    _signs: list[torch.Tensor] = field(default_factory=list, repr=False)
    last_rt: float = 0.0

    def observe(self, signs: torch.Tensor) -> None:
        """One D update's heuristic: sign(D(real)) or sign(D(real) - D(fake)), shape (B,)."""
        self._signs.append(signs.detach().float().mean())

    def maybe_adjust(self, batch: int) -> bool:
        """Move p if `interval` updates have been observed; True if it adjusted."""
        if len(self._signs) < self.interval:
            return False
        rt = float(torch.stack(self._signs).mean())  # one host sync per interval
        self._signs.clear()
        self.last_rt = rt
        step = batch * self.interval / (self.adjust_kimg * 1000.0)
        direction = 1.0 if rt > self.target else -1.0
        self.p = min(P_MAX, max(0.0, self.p + direction * step))
        return True

    def state_dict(self) -> dict[str, object]:
        """What an exact resume needs: p, the last r_t and the signs observed since (floats are
        written as JSON, which keeps every bit)."""
        return {"p": self.p, "last_rt": self.last_rt, "pending": [s.detach().cpu() for s in self._signs]}

    def load_state_dict(self, state: dict[str, object], device: torch.device | None = None) -> None:
        self.p = float(state["p"])  # type: ignore[arg-type]
        self.last_rt = float(state["last_rt"])  # type: ignore[arg-type]
        self._signs = [torch.as_tensor(s).float().to(device or "cpu") for s in state["pending"]]  # type: ignore[union-attr]
