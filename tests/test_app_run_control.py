"""ui/run_control.py (+ run_views, admission, publishing): training subprocesses launched, listed,
stopped, resumed, re-attached and deleted."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from app_helpers import isolate_home, kill_runs, tiny_config, wait_until
from conftest import write_image_folder

from gan_core.runs import RunDir
from ui import admission as admission_mod
from ui import publishing, run_control, run_views
from ui.admission import Admission, admission


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    h = isolate_home(tmp_path, monkeypatch)
    yield h
    kill_runs(h)


@pytest.fixture
def shapes(tmp_path: Path) -> Path:
    return write_image_folder(tmp_path / "shapes", {"circles": 12, "squares": 12})


def launch(dataset: Path, title: str, **options):
    return run_control.launch(tiny_config(dataset, **options), title, "shapes")


def rows(info: run_views.RunInfo) -> list[dict]:
    return RunDir(info.path).read_metrics()


# -- pure rules ---------------------------------------------------------------------------
def test_default_threads_leave_a_core_for_the_pages() -> None:
    assert run_control.default_threads(2) == 1
    assert run_control.default_threads(16) == 15
    assert run_control.default_threads(1) == 1
    assert run_control.default_threads(2, use_all=True) == 2


def test_admission_warns_for_a_second_job_and_refuses_past_the_limit() -> None:
    assert admission(0, cores=2) == Admission(True, "")
    second = admission(1, cores=2)
    assert second.allowed and "share" in second.message and "2 CPU cores" in second.message
    third = admission(2, cores=2)
    assert not third.allowed and "at most 2" in third.message
    assert admission(3, cores=16).allowed and not admission(4, cores=16).allowed
    assert not admission(2, cores=64, cuda=True).allowed  # GPU memory is shared


def test_default_threads_count_the_cores_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not os.cpu_count(): a container limited to 2 CPUs on a 64-core host gets 1 trainer thread."""
    monkeypatch.setattr(run_control, "available_cores", lambda: 2)
    assert run_control.default_threads() == 1


def test_an_all_gpus_launch_keeps_torchruns_one_thread_per_process(home: Path, shapes: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    spawned = []
    monkeypatch.setattr(run_control, "_spawn", lambda rd, argv, kind, steps, gpus=1: spawned.append((argv, gpus)))
    info = run_control.launch(tiny_config(shapes, threads=3), "ddp", "shapes", gpus=2)
    assert spawned == [(["--out", str(info.path)], 2)]
    assert RunDir(info.path).load_config().train.threads == 0  # each process: OMP_NUM_THREADS=1 from torchrun
    single = run_control.launch(tiny_config(shapes, threads=3), "one", "shapes")
    assert RunDir(single.path).load_config().train.threads == 3


# -- real subprocesses --------------------------------------------------------------------
@pytest.mark.slow
def test_launch_list_stop_resume_finish_delete(home: Path, shapes: Path) -> None:
    info = launch(shapes, "Shapes: tiny!")
    assert info.path.parent == home / "runs" and info.name == "Shapes-tiny"
    assert info.state in ("starting", "running") and info.title == "Shapes: tiny!"
    meta = json.loads((info.path / "app.json").read_text())
    assert meta["dataset_label"] == "shapes" and meta["launches"][0]["kind"] == "start"
    # the app writes the run's config before the trainer starts, and the trainer trains exactly that
    assert json.loads((info.path / "config.json").read_text())["train"] == tiny_config(shapes).to_dict()["train"]

    wait_until(lambda: len(rows(run_views.run_info(info.name))) >= 3, what="three metrics rows")
    running = run_views.run_info(info.name)
    assert running.state == "running" and running.step >= 4 and running.total_steps == 100_000
    assert [r.name for r in run_views.list_runs()] == [info.name] and run_views.active_runs()[0].name == info.name
    with pytest.raises(run_control.JobError, match="stop it before deleting"):
        run_control.delete(info.name)
    with pytest.raises(run_control.JobError, match="stop it before resuming"):
        run_control.resume(info.name, 10_000)

    run_control.stop(info.name)
    stopped = wait_until(lambda: (i := run_views.run_info(info.name)).state == "stopped" and i, what="stopped")
    assert stopped.has_checkpoint and stopped.can_resume and not (info.path / "STOP").exists()
    step = stopped.step
    assert step >= 4 and rows(stopped)[-1]["step"] == step

    with pytest.raises(run_control.JobError, match="already at step"):
        run_control.resume(info.name, step)
    run_control.resume(info.name, step + 12)
    done = wait_until(lambda: (i := run_views.run_info(info.name)).state == "finished" and i, what="finished")
    assert done.step == step + 12 == done.total_steps
    steps = [r["step"] for r in rows(done)]
    assert steps == sorted(set(steps)) and steps[-1] == step + 12  # resumed rows continue, no duplicates
    assert json.loads((info.path / "app.json").read_text())["launches"][-1]["kind"] == "resume"
    assert "resume" in (info.path / "train.log").read_text()

    run_control.delete(info.name)
    assert not info.path.exists() and run_views.list_runs() == []


def test_reattach_from_disk_and_force_stop(home: Path, shapes: Path) -> None:
    info = launch(shapes, "reattach")
    wait_until(lambda: run_views.run_info(info.name).has_checkpoint, what="a first checkpoint")
    run_control._procs.clear()  # a new server process knows nothing but the run folders
    again = run_views.run_info(info.name)
    assert again.state == "running" and again.pid == info.pid
    forced = run_control.force_stop(info.name)
    assert forced.state == "stopped" and "force" in forced.note
    assert forced.has_checkpoint  # resume continues from the last periodic checkpoint


def test_stop_while_loading_and_a_failed_start_read_plainly(home: Path, shapes: Path, tmp_path: Path) -> None:
    early = launch(shapes, "early")
    run_control.stop(early.name)  # still importing torch / loading data: SIGTERM at once
    st = wait_until(lambda: (i := run_views.run_info(early.name)).state in ("stopped", "failed") and i, what="end")
    assert st.state == "stopped" and not st.can_resume

    flat = write_image_folder(tmp_path / "flat", {"": 10})
    bad = launch(flat, "no classes", arch="acgan")
    st = wait_until(lambda: (i := run_views.run_info(bad.name)).state == "failed" and i, what="failed")
    assert "class" in st.error and "Traceback" not in st.error
    assert run_control.delete(bad.name) is None and not bad.path.exists()


def test_two_jobs_on_cpu_are_allowed_with_a_warning_then_refused(home: Path, shapes: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admission_mod, "available_cores", lambda: 2)
    a = launch(shapes, "first")
    b = launch(shapes, "second")
    assert len(run_views.active_runs()) == 2
    with pytest.raises(run_control.JobError, match="at most 2"):
        launch(shapes, "third")
    for r in (a, b):
        run_control.force_stop(r.name)
    assert run_views.active_runs() == []


@pytest.mark.slow
def test_calibration_reports_speed_or_a_readable_error(home: Path, shapes: Path, tmp_path: Path) -> None:
    est = run_control.calibrate(tiny_config(shapes, steps=500), steps=3)
    assert est["ms_per_step"] > 0 and est["img_per_s"] > 0 and est["steps"] == 500
    assert est["train_s"] == pytest.approx(est["ms_per_step"] * 500 / 1000, rel=0.05)
    assert est["eta_s"] == pytest.approx(est["train_s"] + est["overhead_s"], abs=0.15)  # + samples, checkpoints, logs
    assert run_views.list_runs() == [] and not (home / "runs" / "missing").exists()  # a dry run writes no run
    assert not list((home / ".calibration").glob("*"))  # its scratch folder is gone
    with pytest.raises(run_control.JobError) as err:
        run_control.calibrate(tiny_config(tmp_path / "missing"), steps=2)
    assert "not found" in str(err.value) and "Traceback" not in str(err.value)


def test_publish_names_are_checked(home: Path, shapes: Path) -> None:
    info = launch(shapes, "to publish", steps=20, ckpt_every=10)
    wait_until(lambda: run_views.run_info(info.name).state == "finished", what="finished")
    with pytest.raises(run_control.JobError, match="invalid name"):
        publishing.publish(info.name, "../evil")
    entry = publishing.publish(info.name, "shapes-v1")
    assert entry.kind == "published" and entry.path == home / "published" / "shapes-v1"
    with pytest.raises(run_control.JobError, match="already published"):
        publishing.publish(info.name, "shapes-v1")
    assert publishing.publish(info.name, "shapes-v1", replace=True).name == "shapes-v1"
    note = json.loads((entry.path / "published.json").read_text())
    assert note["run"] == info.name and note["step"] == 20


def test_unknown_or_unsafe_run_names_are_refused(home: Path) -> None:
    for bad in ("../etc", "nope", ""):
        with pytest.raises(ValueError):
            run_views.run_info(bad)


def test_stop_escalates_to_sigterm_after_the_grace_period(home: Path, shapes: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    info = launch(shapes, "grace")
    wait_until(lambda: run_views.run_info(info.name).state == "running", what="running")
    sent = []
    monkeypatch.setattr(run_control, "_signal", lambda pid, sig: sent.append((pid, sig)) or True)
    RunDir(info.path).update_app_meta(stop_requested_at=time.time() - 100)  # asked long ago, still running
    run_control.tick()
    assert sent and sent[0] == (info.pid, run_control.signal.SIGTERM)
    run_control.tick()
    assert len(sent) == 1  # only once


def test_all_gpus_launches_one_process_per_gpu_under_torchrun() -> None:
    from ui.run_control import trainer_command

    assert trainer_command(1)[1:] == ["-m", "gan_core.train"]
    cmd = trainer_command(4)
    assert cmd[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=4"]
    assert cmd[-2:] == ["-m", "gan_core.train"]
