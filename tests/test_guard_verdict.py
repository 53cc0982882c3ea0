"""The guard's end-of-run verdict (gan_core.guard_verdict): a run that finishes with garbage says so.
The judge's readings and the last metrics row are constructed here; the judge itself is a stub that
reads fixed classes, so each case knows the answer it must give."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from gan_core import guard_verdict
from gan_core.guard import Guard
from gan_core.guard_verdict import CONSISTENCY_BAR, ONE_CLASS_BAR, end_of_run, judged_problems, metric_problems
from gan_core.networks import build_generator
from gan_core.runs import RunDir
from gan_core.sample import spread_labels
from gan_core.training import Trainer
from tests.test_training import data, tiny_run

NAMES = [str(i) for i in range(10)]


def test_the_last_row_speaks_when_d_fake_is_pinned_or_the_samples_are_alike() -> None:
    assert metric_problems({"d_fake": 0.3, "diversity": 0.8}, "bce") == []
    pinned = metric_problems({"d_fake": 0.007, "diversity": 0.8}, "bce")
    assert len(pinned) == 1 and "D(G(z)) is pinned at 0.007" in pinned[0]
    assert metric_problems({"d_fake": 0.007}, "hinge") == []  # not a probability there
    alike = metric_problems({"d_fake": 0.3, "diversity": 0.05}, "bce")
    assert len(alike) == 1 and "diversity is 0.05" in alike[0]
    assert metric_problems({}, "bce") == []


def test_the_last_row_speaks_when_each_class_is_one_picture() -> None:
    """A judge reads a generator that draws one picture per class as perfectly consistent: only the
    within-class measure of the last log sees it."""
    one = metric_problems({"diversity": 0.8, "class_diversity": 0.25}, "rpgan")
    assert len(one) == 1 and "one picture per class" in one[0] and "0.25" in one[0]
    assert metric_problems({"diversity": 0.8, "class_diversity": 0.6}, "rpgan") == []
    assert metric_problems({"diversity": 0.18, "class_diversity": 0.1}, "rpgan") == []  # near-alike: not read


def test_the_judge_speaks_when_the_classes_are_not_drawn() -> None:
    wanted = np.repeat(np.arange(10), 30)
    good = wanted.copy()
    good[:30] = 1  # 90% read as asked
    assert judged_problems(good, wanted, NAMES)[0] == []
    assert judged_problems(good, wanted, NAMES)[1]["class_consistency"] == pytest.approx(0.9)
    poor = np.where(np.arange(300) % 3 == 0, wanted, (wanted + 1) % 10)  # a third read as asked
    problems, ev = judged_problems(poor, wanted, NAMES)
    assert ev["class_consistency"] < CONSISTENCY_BAR and len(problems) == 1
    assert f"only {ev['class_consistency']:.0%} of 300 samples" in problems[0] and "chance 10%" in problems[0]


def test_an_unconditional_generator_fails_when_most_samples_are_one_class() -> None:
    spread = np.arange(300) % 10
    assert judged_problems(spread, None, NAMES)[0] == []
    one = np.where(np.arange(300) < 240, 3, spread)  # 80% judged a 3
    problems, ev = judged_problems(one, None, NAMES)
    assert ev["top_class"] == "3" and ev["top_class_share"] > ONE_CLASS_BAR
    assert problems and "judged one class (3)" in problems[0]


@dataclass
class StubJudge:
    """Reads every image as `reads(n)`'s classes, in the judge's class names."""
    reads: object
    name: str = "stub"

    @property
    def cfg(self):
        return type("Cfg", (), {"class_names": ["0", "1", "2", "3"]})()

    def run(self, images: np.ndarray):
        return None, self.reads(len(images))


def test_end_of_run_renders_judges_and_names_the_verdict() -> None:
    cfg = tiny_run("acgan", 4)
    g = build_generator(cfg.model).eval()
    row = {"d_fake": 0.4, "diversity": 0.7}
    asked = StubJudge(lambda n: spread_labels(n, 4))  # the classes render() asks for
    v = end_of_run(g, cfg, row, judge=asked)
    assert v.good and v.text.startswith("finished: the judge reads 100% of 300 samples")
    stuck = StubJudge(lambda n: np.zeros(n, np.int64))
    v = end_of_run(g, cfg, {"d_fake": 0.007, "diversity": 0.7}, judge=stuck)
    assert not v.good and v.text.startswith("finished, but D(G(z)) is pinned")
    assert "reads only 25%" in v.text and "100% of 300 samples are judged one class (0)" in v.text
    assert v.evidence["class_consistency"] == pytest.approx(0.25) and v.evidence["judge"] == "stub"
    assert "more steps" not in v.text  # pinned: not a matter of time
    v = end_of_run(g, cfg, row, judge=stuck)  # healthy metrics, classes not drawn yet
    assert not v.good and v.text.endswith("it may only need more steps, --resume with a higher --steps)")


def test_without_a_judge_the_metrics_decide_and_say_so() -> None:
    cfg = tiny_run("dcgan", 4)  # a synthetic dataset: no shipped judge, no cached one
    assert guard_verdict.find_judge(cfg.data.source, cfg.data.fingerprint) is None
    g = build_generator(cfg.model).eval()
    v = end_of_run(g, cfg, {"d_fake": 0.4, "diversity": 0.7})
    assert v.good and "no judge read the samples" in v.text
    assert not end_of_run(g, cfg, {"d_fake": 0.4, "diversity": 0.01}).good


def test_a_finished_guarded_run_records_its_verdict_as_the_last_event(tmp_path: Path) -> None:
    cfg = tiny_run("dcgan", 4, guard=True)
    run = RunDir(tmp_path / "run")
    run.create(cfg)
    tr = Trainer(cfg, *data(), run)
    tr.guard = Guard()
    assert tr.run() == "finished"
    v = tr.guard.finish(tr)
    ev = run.last_event()
    assert ev["kind"] == "verdict" and ev["step"] == 4 and ev["text"] == v.text
    assert ev["action"] == ("finished" if v.good else "finished, but")


def test_the_monitor_warns_when_a_finished_runs_verdict_failed(tmp_path, monkeypatch) -> None:
    """A guarded run that finished with garbage says so on the Monitor (warning, not success); a
    run whose verdict passed, or that had no guard, shows the usual success line."""
    from streamlit.testing.v1 import AppTest

    from app_helpers import ROOT, isolate_home, tiny_config
    from gan_core.runs import RunDir

    home = isolate_home(tmp_path, monkeypatch)
    run = RunDir(home / "runs" / "garbage")
    run.create(tiny_config(home / "uploads" / "flat"))
    run.append_metrics({"step": 10, "loss_d": 1.0, "loss_g": 1.0})

    def shown(verdict: dict) -> tuple[list[str], list[str]]:
        run.write_status("running", step=5, total_steps=10)  # a resume drops the last finish's verdict
        assert "verdict" not in run.read_status()
        run.write_status("finished", step=10, total_steps=10, **verdict)
        at = AppTest.from_file(str(ROOT / "studio.py"), default_timeout=60).run()
        at.session_state["monitor_run"] = "garbage"
        at.switch_page("pages/monitor.py").run()
        assert not at.exception, [e.value for e in at.exception]
        return [w.value for w in at.warning], [s.value for s in at.success]

    bad = "the judge reads only 32% of 300 samples as the class asked for (chance 10%, bar 80%)"
    warnings, successes = shown({"verdict": bad, "verdict_good": False})
    assert any(bad in w and w.startswith("Finished: 10 steps, but") for w in warnings), warnings
    assert not any(s.startswith("Finished") for s in successes)
    warnings, successes = shown({"verdict": "the judge reads 97% as asked", "verdict_good": True})
    assert any(s.startswith("Finished: 10 steps.") for s in successes) and not any("but" in w for w in warnings)
    warnings, successes = shown({})
    assert any(s.startswith("Finished: 10 steps.") for s in successes)


def test_a_run_its_time_budget_ends_is_finished_and_gets_the_verdict(tmp_path: Path) -> None:
    """A time budget is the end the user asked for (the app's "Train for: minutes"): the run is
    finished, says how it ended, and a guarded one gets its verdict like a run that ran its steps."""
    from conftest import write_image_folder
    from gan_core import train

    folder = write_image_folder(tmp_path / "set", {"": 8})
    out = tmp_path / "run"
    assert train.main(["--dataset", str(folder), "--preset", "Tiny smoke test", "--steps", "10000000", "--minutes",
                       "0.02", "--guard", "--threads", "1", "--out", str(out)]) == 0
    run = RunDir(out)
    status, state = run.read_status(), run.run_state()
    assert status["state"] == "finished" and 0 < status["step"] < 10_000_000
    assert state.state == "finished" and state.note == "time budget of 0.02 min reached"
    assert run.last_event()["kind"] == "verdict" and status["verdict"] == run.last_event()["text"]
    run.write_status("running", step=status["step"])  # a resume: the old end's note and verdict go
    assert "note" not in run.read_status() and "verdict" not in run.read_status()
