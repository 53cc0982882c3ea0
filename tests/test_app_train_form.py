"""AppTest: the Train form's ACGAN objective and judge-evaluation settings reach the trainer, and the
Monitor charts the judge's scores. The MNIST training is a real (tiny) subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from app_helpers import ROOT, isolate_home, kill_runs, wait_until
from conftest import write_image_folder
from streamlit.testing.v1 import AppTest

from gan_core import presets
from ui import uploads
from ui.display import fmt


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    h = isolate_home(tmp_path, monkeypatch)
    yield h
    kill_runs(h)


def train_page(dataset_key: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "studio.py"), default_timeout=60).run()
    at.session_state["dataset_key"] = dataset_key
    at.switch_page("pages/train.py").run()
    assert not at.exception and at.selectbox(key="t_dataset").value == dataset_key
    return at


@pytest.mark.slow
def test_mnist_preset_brings_the_shipped_objective_and_a_judge_to_the_monitor(home: Path) -> None:
    at = train_page("builtin:mnist")
    assert at.selectbox(key="t_preset").value == "MNIST digits"
    weight, real_only, every = (at.number_input(key="t_aux_weight"), at.checkbox(key="t_aux_real_only"),
                                at.number_input(key="t_eval_every"))
    assert (weight.value, real_only.value, every.value) == (3.0, True, 500)
    assert not weight.disabled and not real_only.disabled and not every.disabled

    at.radio(key="t_arch").set_value("dcgan").run()  # the class options mean nothing for DCGAN
    assert at.number_input(key="t_aux_weight").disabled and at.checkbox(key="t_aux_real_only").disabled

    at.selectbox(key="t_loss").set_value("wgan-gp").run()  # it has its own gradient penalty
    assert at.number_input(key="t_r1_gamma").disabled
    at.selectbox(key="t_loss").set_value("bce").run()
    assert not at.number_input(key="t_r1_gamma").disabled and at.number_input(key="t_r1_gamma").value == 0.0

    # a tiny ACGAN with the class options and a judge every 20 steps
    at.selectbox(key="t_preset").set_value("Tiny smoke test").run()
    assert at.number_input(key="t_eval_every").value == 0 and not at.checkbox(key="t_aux_real_only").value
    at.radio(key="t_arch").set_value("acgan").run()
    at.number_input(key="t_steps").set_value(40).run()
    at.number_input(key="t_aux_weight").set_value(2.5).run()
    at.checkbox(key="t_aux_real_only").check().run()
    at.number_input(key="t_eval_every").set_value(20).run()
    at.number_input(key="t_r1_gamma").set_value(0.5).run()
    next(b for b in at.button if b.label.startswith("Start training")).click().run()
    assert not at.exception and not at.error
    run = at.session_state["monitor_run"]
    config = home / "runs" / run / "config.json"  # written by the app, before the trainer starts
    cfg = json.loads(config.read_text())
    assert (cfg["train"]["aux_weight"], cfg["train"]["aux_on_fake"], cfg["train"]["eval_every"]) == (2.5, False, 20)
    assert cfg["train"]["r1_gamma"] == 0.5

    at.switch_page("pages/monitor.py").run()

    def quality_chart():
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        charts = [c for c in at.get("plotly_chart") if "chart_quality" in c.proto.id]
        if not charts:
            return None
        spec = json.loads(charts[0].proto.spec)
        return spec if len(spec["data"][0]["x"]) >= 2 else None

    spec = wait_until(quality_chart, timeout=120, every=0.5, what="two judge evaluations on the Monitor")
    names = {t["name"] for t in spec["data"]}
    assert names == {"judge FD", "precision", "recall", "judge class agreement"}
    assert spec["data"][0]["x"][:2] == [20, 40] and all(v > 0 for v in spec["data"][0]["y"])

    best_line = wait_until(lambda: at.run() and [c.value for c in at.caption if c.value.startswith("Best so far")],
                           timeout=30, what="the best-checkpoint line")
    assert "class agreement" in best_line[0] and "kept as `best`" in best_line[0]

    # Runs: the best checkpoint's judge FD, the one Publish takes
    wait_until(lambda: json.loads((home / "runs" / run / "status.json").read_text())["state"] == "finished",
               timeout=60, what="the run to finish")
    best = json.loads((home / "runs" / run / "checkpoints" / "best" / "config.json").read_text())["meta"]["metrics"]
    at.switch_page("pages/runs.py").run()
    table = at.dataframe[0].value
    assert list(table["best judge FD"]) == [fmt(best["eval_fd"])] and list(table["at step"]) == [f"{best['step']:,}"]
    assert list(table.columns)[-2:] == ["created", "folder"]


def test_uploaded_sets_are_judged_and_start_from_the_automatic_preset(home: Path, tmp_path: Path) -> None:
    src = write_image_folder(tmp_path / "src", {"red": 6, "blue": 6})
    saved = uploads.save_files([(str(p.relative_to(src)), p.read_bytes()) for p in sorted(src.rglob("*.png"))],
                               "shapes")
    at = train_page(f"upload:{saved.name}")
    every = at.number_input(key="t_eval_every")
    assert not every.disabled  # a judge trained on the upload's own images (gan_core.dataset_judges)
    # the automatic preset from the doctor's facts: 12 images, 2 classes, 28 x 24 pictures
    auto = presets.auto(presets.DataFacts(12, 2, 28)).values
    assert at.selectbox(key="t_preset").value == presets.AUTO
    assert (at.radio(key="t_arch").value, at.selectbox(key="t_image_size").value) == ("r3gan", 32)
    assert (every.value, at.number_input(key="t_batch_size").value) == (auto["train.eval_every"], 8)
    assert not at.error


def column_with(at: AppTest, kind: str, key: str):
    """The innermost column holding the widget `key` (its error slot sits under it, in the same column)."""
    found = [c for c in at.columns if any(w.key == key for w in getattr(c, kind))]
    return min(found, key=lambda c: len(list(c)))


def test_a_bad_value_is_shown_under_its_field_and_blocks_the_start(home: Path, tmp_path: Path) -> None:
    src = write_image_folder(tmp_path / "src", {"": 8})  # no classes
    saved = uploads.save_files([(p.name, p.read_bytes()) for p in sorted(src.rglob("*.png"))], "flat")
    at = train_page(f"upload:{saved.name}")
    assert at.selectbox(key="t_preset").value == presets.AUTO and not at.error
    at.number_input(key="t_lr_g").set_value(1.0).run()  # the widget allows 1.0; the config does not
    errors = [e.value for e in column_with(at, "number_input", "t_lr_g").error]
    assert errors == ["Train.lr_g must be in (0, 1), got 1.0"] and len(at.error) == 1
    assert next(b for b in at.button if b.label.startswith("Start training")).disabled
    at.number_input(key="t_lr_g").set_value(0.001).run()
    assert not at.error and not next(b for b in at.button if b.label.startswith("Start training")).disabled

    at.radio(key="t_arch").set_value("acgan").run()  # the dataset rule, from the doctor's counts
    errors = [e.value for e in column_with(at, "radio", "t_arch").error]
    assert len(errors) == 1 and "ACGAN needs at least 2 classes" in errors[0] and "none" in errors[0]
    assert next(b for b in at.button if b.label.startswith("Start training")).disabled


def test_a_time_limit_reaches_the_run(home: Path) -> None:
    at = train_page("builtin:mnist")
    at.selectbox(key="t_preset").set_value("Tiny smoke test").run()
    at.number_input(key="t_minutes").set_value(0.05).run()
    at.number_input(key="t_steps").set_value(1_000_000).run()
    next(b for b in at.button if b.label.startswith("Start training")).click().run()
    assert not at.exception and not at.error
    run = home / "runs" / at.session_state["monitor_run"]
    assert json.loads((run / "config.json").read_text())["train"]["minutes"] == 0.05
    wait_until(lambda: "time budget of 0.05 min reached" in (run / "train.log").read_text(), timeout=90,
               what="the time budget to stop the run")
    status = json.loads((run / "status.json").read_text())  # the end the user asked for: finished, and says how
    assert status["state"] == "finished" and status["note"] == "time budget of 0.05 min reached"
