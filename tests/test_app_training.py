"""AppTest: launch a tiny training from the Train page, watch it on Monitor, stop, resume, then manage
it on the Runs page (overlay, publish, delete). The training is a real subprocess."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from app_helpers import ROOT, isolate_home, kill_runs, tiny_config, wait_until
from conftest import write_image_folder
from streamlit.testing.v1 import AppTest

from ui import run_control, run_views, uploads


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    h = isolate_home(tmp_path, monkeypatch)
    yield h
    kill_runs(h)


def progress(at: AppTest) -> tuple[int, int] | None:
    bars = at.get("progress")
    m = re.match(r"step ([\d,]+) / ([\d,]+)", bars[0].proto.text) if bars else None
    return (int(m[1].replace(",", "")), int(m[2].replace(",", ""))) if m else None


def figure(at: AppTest, key: str) -> dict:
    chart = next(c for c in at.get("plotly_chart") if c.proto.id.endswith(key) or key in c.proto.id)
    return json.loads(chart.proto.spec)


def state_text(at: AppTest) -> str:
    return " ".join(e.value for e in [*at.info, *at.success, *at.error, *at.markdown])


def poll(at: AppTest, check, timeout: float = 90, what: str = ""):
    def again():
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return check(at)
    return wait_until(again, timeout=timeout, every=0.5, what=what)


@pytest.mark.slow
def test_launch_watch_stop_resume_publish_delete(home: Path, tmp_path: Path) -> None:
    src = write_image_folder(tmp_path / "src", {"red": 10, "blue": 10})
    saved = uploads.save_files([(str(p.relative_to(src)), p.read_bytes()) for p in sorted(src.rglob("*.png"))],
                               "shapes")
    at = AppTest.from_file(str(ROOT / "studio.py"), default_timeout=60).run()
    at.session_state["dataset_key"] = f"upload:{saved.name}"
    at.switch_page("pages/train.py").run()
    assert at.selectbox(key="t_dataset").value == "upload:shapes"

    # the tiny preset, long enough that the test stops it
    at.selectbox(key="t_preset").set_value("Tiny smoke test").run()
    assert at.number_input(key="t_ngf").value == 8 and at.number_input(key="t_batch_size").value == 8
    at.radio(key="t_arch").set_value("acgan").run()
    at.number_input(key="t_steps").set_value(100_000).run()
    at.text_input(key="t_title").set_value("tiny shapes").run()
    threads = run_control.default_threads()  # every core but one
    assert f"Training uses {threads} CPU thread(s)" in " ".join(c.value for c in at.caption)
    start = next(b for b in at.button if b.label.startswith("Start training on "))
    assert not start.disabled
    start.click().run()
    assert not at.exception and not at.error
    run = at.session_state["monitor_run"]
    assert run == "tiny-shapes" and (home / "runs" / run / "app.json").is_file()

    # Monitor: metrics appear after reruns (run_every does not tick in AppTest)
    at.switch_page("pages/monitor.py").run()
    assert at.selectbox(key="monitor_pick").value == run
    def logged_steps(a: AppTest) -> set:
        charts = [c for c in a.get("plotly_chart") if "chart_loss" in c.proto.id]
        return set(json.loads(charts[0].proto.spec)["data"][0]["x"]) if charts else set()
    # wait for three logged points (the progress bar runs ahead of the metrics file)
    poll(at, lambda a: progress(a) and len(logged_steps(a)) >= 3, what="three logged points on the chart")
    losses = figure(at, "chart_loss")
    steps = losses["data"][0]["x"]
    assert {t["name"] for t in losses["data"]} == {"loss D", "loss G"}
    assert steps == sorted(steps) and steps[0] == 5  # the tiny preset logs every 5 steps
    assert {t["name"] for t in figure(at, "chart_acc")["data"]} == {"class acc. real", "class acc. fake"}
    metric_labels = [m.label for m in at.metric]
    assert metric_labels[:4] == ["loss D", "loss G", "D(x)", "D(G(z))"] and "memory (RSS) MB" in metric_labels
    first = progress(at)[0]
    poll(at, lambda a: progress(a)[0] > first, what="the step count to move")
    assert progress(at)[1] == 100_000
    poll(at, lambda a: any(s.label.startswith("Scrub") for s in a.slider), what="two sample grids")
    assert [d.label for d in at.download_button] == ["Export GIF"]
    assert any("Real" in m.value for m in at.markdown) and len(at.image) >= 2  # fake and real side by side

    # Stop: the trainer checkpoints and exits
    at.button(key="stop_btn").click().run()
    poll(at, lambda a: "Stopped at step" in state_text(a), what="stopped")
    stopped_at = progress(at)[0]
    assert (home / "runs" / run / "checkpoints" / "latest" / "config.json").is_file()

    # Resume to a few steps further: it finishes there
    target = stopped_at + 8
    at.number_input(key=f"resume_to_{run}").set_value(target)
    at.button(key="resume_btn").click().run()
    assert not at.error
    poll(at, lambda a: "Finished" in state_text(a), what="finished after resume")
    assert progress(at) == (target, target)
    at.run()
    grids = sorted((home / "runs" / run / "samples").glob("step_*.png"))
    assert grids[-1].name == f"step_{target:06d}.png"
    assert at.slider[0].value == target  # the scrubber follows the newest grid
    assert any(m.value.startswith(f"**Generated** · step {target:,}") for m in at.markdown)
    first, second = (int(g.stem.split("_")[1]) for g in grids[:2])
    at.slider[0].set_value(second - 1).run()  # between two grids: the earlier one is shown
    assert any(m.value.startswith(f"**Generated** · step {first:,}") for m in at.markdown)
    at.run()  # scrubbed back: it stays there
    assert at.slider[0].value == second - 1

    # Runs: the list, an overlay, publish, delete
    at.switch_page("pages/runs.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["run"]) == ["tiny shapes"] and list(table["status"]) == ["finished"]
    assert list(table["steps"]) == [f"{target} / {target}"]
    overlay = json.loads(at.get("plotly_chart")[0].proto.spec)
    line = next(t for t in overlay["data"] if t.get("name") == "tiny shapes")  # the smoothed line over its band
    assert line["x"][-1] == target
    at.text_input(key=f"pub_name_{run}").set_value("shapes-mini")
    at.button(key="publish_btn").click().run()
    assert "Published as **shapes-mini**" in at.success[0].value
    assert (home / "published" / "shapes-mini" / "generator.safetensors").is_file()
    at.text_input(key=f"pub_name_{run}").set_value("../../oops")
    at.button(key="publish_btn").click().run()
    assert at.error and "Cannot publish" in at.error[0].value and not at.exception

    at.switch_page("pages/home.py").run()
    assert any(m.value == "**shapes-mini**" for m in at.markdown) and at.image

    at.switch_page("pages/runs.py").run()
    delete = next(b for b in at.button if b.label == "Delete run")
    assert delete.disabled  # needs the confirmation tick first
    at.checkbox(key=f"del_sure_{run}").check().run()
    next(b for b in at.button if b.label == "Delete run").click().run()
    assert not at.exception
    assert not (home / "runs" / run).exists()
    assert any("No runs yet" in i.value for i in at.info)


def test_a_failed_run_shows_its_error_and_log(home: Path, tmp_path: Path) -> None:
    flat = write_image_folder(tmp_path / "flat", {"": 6})
    info = run_control.launch(tiny_config(flat, arch="acgan", steps=10, batch_size=4), "broken")
    wait_until(lambda: run_views.run_info(info.name).state == "failed", what="the run to fail")
    at = AppTest.from_file(str(ROOT / "studio.py"), default_timeout=60).run()
    at.session_state["monitor_run"] = info.name
    at.switch_page("pages/monitor.py").run()
    assert not at.exception
    assert at.error[0].value.startswith("Training failed: ") and "class" in at.error[0].value
    assert "Traceback" not in at.error[0].value
    assert not [b for b in at.button if b.label in ("Stop", "Resume")]  # nothing to stop or resume
    assert time.time() - info.created < 120
