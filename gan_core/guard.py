"""The training guard: named failures read from the metric stream (`guard_rules`), a rollback to
the newest healthy checkpoint, a named remedy (`guard_remedies`), an event in events.jsonl, and a
stop with a one-line reason when the rescues do not hold.

`Guard` is the part the trainer calls: `start` before its loop, `check` after each logged row. It
keeps the ring of the last `ring_size` healthy checkpoints (checkpoints/ring/step_N, written by
the trainer's own checkpoint writer at logs where no rule's condition holds), rolls back, applies
the remedy to the trainer and to the run's config.json (so a resume continues with it), and writes
every action through `RunDir.append_event`. A rescue holds once the run logs cleanly past the step
where the failure was caught; after `max_rescues` rescues in a row the guard stops the run with the
reason (the newest healthy checkpoint becomes `latest`). A run that finishes gets a verdict on its
final generator (`finish`, `guard_verdict`): never a silent finish with garbage.
"""

from __future__ import annotations

import dataclasses
import shutil
from typing import Any

import torch

from .checkpoints import copy_checkpoint
from .errors import TrainingError
from .guard_remedies import apply_remedy, far_beyond, remedy
from .guard_rules import Finding, Rules, clean, detect, detect_at_end, finite, held_out_distance
from .guard_verdict import Verdict, end_of_run

__all__ = ["Guard", "Rules"]


class Guard:
    def __init__(self, rules: Rules = Rules()):
        self.rules = rules
        self.rows: list[dict[str, Any]] = []
        self.heldout: float | None = None
        self.rescues = 0  # rescues in a row (reset when one holds)
        self.caught_at = -1  # the step where the last failure was caught
        self.last_target = -1  # the step the last rescue rolled back to

    # Any: the trainer (gan_core.training.Trainer); typed loosely to keep this module below it
    def start(self, tr: Any) -> None:
        """Before the loop: the rows so far (a resume), the held-out distance, a ring entry for the
        starting point, and the rescues in a row from the events."""
        rd = tr.run_dir
        self.heldout = held_out_distance(tr.real_probe)
        if rd is None:
            return
        self.rows = [r for r in rd.read_metrics() if int(r.get("step", 0)) <= tr.step]
        for s in rd.ring_steps():  # a checkpoint of a future this run no longer has
            if s > tr.step:
                shutil.rmtree(rd.ring_checkpoint(s), ignore_errors=True)
        if tr.step not in rd.ring_steps():
            self._save_ring(tr)
        for ev in rd.read_events():
            if ev.get("action") == "roll back":
                self.rescues += 1
                self.caught_at = int(ev.get("step", -1))
                self.last_target = int(ev.get("to_step", -1))
            elif ev.get("kind") == "held":
                self.rescues = 0

    @staticmethod
    def _weights_finite(tr: Any) -> bool:
        return all(bool(torch.isfinite(p).all()) for m in (tr.G, tr.D) for p in m.parameters())

    def measure(self, tr: Any, row: dict[str, Any]) -> None:
        """Before the trainer writes a logged row: add the sample health the rules read
        (`Trainer.health`) where the row has none yet, so metrics.jsonl and the Monitor's charts hold
        what the guard saw at every log (an unguarded run measures it only with its sample grids)."""
        if "diversity" not in row and all(finite(row.get(k)) for k in self.rules.loss_keys) and self._weights_finite(tr):
            row.update(tr.health(tr.sample_images()))

    def _measure(self, tr: Any, row: dict[str, Any]) -> dict[str, Any]:
        r = dict(row)
        ok = self._weights_finite(tr)
        r["weights_finite"] = int(ok)
        if ok:
            self.measure(tr, r)
        return r

    def rules_now(self, tr: Any) -> Rules:
        """The rules for the trainer's current settings: with a learning rate far beyond the
        architecture's stable range (`guard_remedies.far_beyond`) one failing log is enough."""
        if far_beyond(tr.cfg.train, tr.cfg.model.arch, self.rules):
            return dataclasses.replace(self.rules, n_logs=1)
        return self.rules

    def finish(self, tr: Any) -> Verdict:
        """After a run that finished: the end-of-run verdict (`guard_verdict`) on the final
        generator, as an event ("finished" or "finished, but")."""
        v = end_of_run(tr.inference_generator(), tr.cfg, self.rows[-1] if self.rows else {}, self.rules)
        self._event(tr.run_dir, {"step": tr.step, "kind": "verdict", "action": "finished" if v.good else "finished, but",
                                 "evidence": v.evidence, "text": v.text})
        return v

    def check(self, tr: Any, row: dict[str, Any]) -> str:
        """After a logged row: "" (carry on), "rolled_back" (the trainer is back at a healthy
        checkpoint with a remedy applied) or "stop". Raises TrainingError when it gives up."""
        rd = tr.run_dir
        self.rows.append(self._measure(tr, row))
        loss = tr.cfg.train.loss
        final = tr.step >= tr.cfg.train.steps
        rules = self.rules_now(tr)
        finding = (detect_at_end if final else detect)(self.rows, rules, loss, self.heldout)
        step = tr.step
        if finding is None:
            if clean(self.rows, rules, loss, self.heldout):
                if self.rescues and step > self.caught_at:
                    self._event(rd, {"step": step, "kind": "held",
                                     "evidence": {"caught_at": self.caught_at, "rescues": self.rescues},
                                     "action": "carry on", "text": f"rescue held past step {self.caught_at}"})
                    self.rescues = 0
                self._save_ring(tr)
            return ""
        target = self._target(rd, finding)
        if finding.kind == "memorisation":
            kept = ""
            if rd is not None and target is not None:
                copy_checkpoint(rd.ring_checkpoint(target), rd.checkpoint("best"), with_training_state=True)
                kept = f"; kept step {target} as best"
            self._event(rd, {"step": step, "kind": finding.kind, "rule": finding.rule, "evidence": finding.evidence,
                             "action": "stop", "text": f"memorisation: stopped{kept}"})
            return "stop"
        rem = remedy(finding, tr.cfg.train, tr.policy.precision, self.rescues, self.rules, tr.cfg.model.arch)
        if self.rescues >= self.rules.max_rescues or target is None:
            reason = (f"the guard stopped the run: {finding.summary}; {self.rescues} rescues did not hold"
                      if target is not None else f"the guard stopped the run: {finding.summary}; no healthy "
                      "checkpoint to roll back to")
            if target is not None:
                self._roll_back(tr, target)
                tr.save_checkpoint("latest", {"step": target})
                reason += f"; latest is the healthy checkpoint of step {target}"
            self._event(rd, {"step": step, "kind": finding.kind, "rule": finding.rule, "evidence": finding.evidence,
                             "action": "give up", "to_step": target, "text": reason})
            raise TrainingError(reason + ". Start again with lower learning rates (e.g. --lr 2e-4).")
        self._roll_back(tr, target)
        apply_remedy(tr, rem)
        if rd is not None:
            rd.save_config(tr.cfg)
        self.rescues += 1
        self.caught_at, self.last_target = step, target
        self._event(rd, {"step": step, "kind": finding.kind, "rule": finding.rule, "evidence": finding.evidence,
                         "action": "roll back", "to_step": target, "remedy": rem.name, "changes": rem.changes,
                         "attempt": self.rescues,
                         "text": f"{finding.kind.replace('_', ' ')}: back to step {target}, {rem.name}"})
        return "rolled_back"

    def _target(self, rd: Any, finding: Finding) -> int | None:
        """The newest ring checkpoint before the streak; when a rescue from a checkpoint did not
        hold, one older than that checkpoint (it may already have been harmed), if the ring has one."""
        ring = rd.ring_steps() if rd is not None else []
        steps = [s for s in ring if s < finding.since_step]
        if self.rescues and self.last_target >= 0:
            steps = [s for s in steps if s < self.last_target] or [s for s in steps if s <= self.last_target]
        return steps[-1] if steps else None

    def _roll_back(self, tr: Any, target: int) -> None:
        rd = tr.run_dir
        tr.load_checkpoint(rd.ring_checkpoint(target))
        rd.repair_metrics(target)
        self.rows = [r for r in self.rows if int(r["step"]) <= target]
        for s in rd.ring_steps():
            if s > target:
                shutil.rmtree(rd.ring_checkpoint(s), ignore_errors=True)

    def _save_ring(self, tr: Any) -> None:
        rd = tr.run_dir
        if rd is None:
            return
        tr.save_checkpoint(f"ring/step_{tr.step:06d}", {"step": tr.step, "guard": "healthy"})
        for s in rd.ring_steps()[:-self.rules.ring_size]:
            shutil.rmtree(rd.ring_checkpoint(s), ignore_errors=True)

    @staticmethod
    def _event(rd: Any, event: dict[str, Any]) -> None:
        if rd is not None:
            rd.append_event(event)


