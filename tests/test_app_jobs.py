"""ui/jobs.py: training subprocesses launched, listed, stopped, resumed, re-attached and deleted."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from app_helpers import TINY, isolate_home, kill_runs, wait_until
from conftest import write_image_folder

from gan_core.train import build_parser, config_from_args
from ui import jobs


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    h = isolate_home(tmp_path, monkeypatch)
    yield h
    kill_runs(h)


@pytest.fixture
def shapes(tmp_path: Path) -> Path:
    return write_image_folder(tmp_path / "shapes", {"circles": 12, "squares": 12})


def tiny_spec(dataset: Path, **kw) -> jobs.TrainSpec:
    return jobs.TrainSpec(dataset=str(dataset), dataset_label="shapes", **dict(TINY, **kw))


def rows(info: jobs.RunInfo) -> list[dict]:
    path = info.path / "metrics.jsonl"
    return [json.loads(ln) for ln in path.read_text().splitlines()] if path.exists() else []


# -- pure rules ---------------------------------------------------------------------------
def test_spec_args_parse_back_to_the_same_settings() -> None:
    spec = jobs.TrainSpec(dataset="mnist", model="acgan", image_size=32, loss="hinge", steps=1234, batch_size=48,
                          lr_g=1e-4, lr_d=4e-4, beta1=0.0, ema=0.99, diffaug="translation,color", hflip=True,
                          label_smoothing=0.1, nz=64, ngf=32, ndf=24, threads=1, seed=7, log_every=3)
    a = build_parser().parse_args([*spec.args(), "--out", "x"])
    assert (a.dataset, a.model, a.image_size, a.loss, a.steps, a.batch_size) == ("mnist", "acgan", 32, "hinge", 1234, 48)
    assert (a.lr_g, a.lr_d, a.beta1, a.ema, a.label_smoothing) == (1e-4, 4e-4, 0.0, 0.99, 0.1)
    assert (a.diffaug, a.hflip, a.nz, a.ngf, a.ndf, a.threads, a.seed, a.log_every) == \
        ("translation,color", True, 64, 32, 24, 1, 7, 3)
    by_epochs = build_parser().parse_args([*jobs.TrainSpec(dataset="mnist", epochs=2.5).args(), "--out", "x"])
    assert by_epochs.epochs == 2.5 and by_epochs.steps is None
    assert "--ndf" not in jobs.TrainSpec(dataset="mnist", ndf=0).args()  # 0 = the architecture's default


def test_acgan_objective_and_judge_evaluation_reach_the_trainer(tmp_path: Path) -> None:
    spec = jobs.TrainSpec(dataset="mnist", model="acgan", image_size=32, aux_weight=3.0, aux_real_only=True,
                          eval_every=500)
    cfg = config_from_args(build_parser().parse_args([*spec.args(), "--out", "x"]))
    assert (cfg.train.aux_weight, cfg.train.aux_on_fake, cfg.train.eval_every) == (3.0, False, 500)
    # paper defaults add no flags; DCGAN ignores the class options; only judged datasets evaluate
    assert not {"--aux-weight", "--aux-real-only", "--eval-every"} & set(jobs.TrainSpec(dataset="mnist",
                                                                                         model="acgan").args())
    assert "--aux-real-only" not in jobs.TrainSpec(dataset="mnist", aux_real_only=True).args()
    assert jobs.has_judge("mnist") and jobs.has_judge("orl-faces") and not jobs.has_judge(str(tmp_path))
    assert "--eval-every" not in jobs.TrainSpec(dataset=str(tmp_path), eval_every=500).args()
    assert any("class-loss weight" in p for p in jobs.check_spec(
        jobs.TrainSpec(dataset="mnist", model="acgan", image_size=32, aux_weight=0.0), classes=10))
    assert any("N >= 0" in p for p in jobs.check_spec(jobs.TrainSpec(dataset="mnist", eval_every=-1), None))


def test_r1_penalty_reaches_the_trainer_except_with_wgan_gp() -> None:
    cfg = config_from_args(build_parser().parse_args([*jobs.TrainSpec(dataset="mnist", r1=0.5).args(), "--out", "x"]))
    assert cfg.train.r1_gamma == 0.5
    assert "--r1" not in jobs.TrainSpec(dataset="mnist").args()  # 0 = off adds no flag
    assert "--r1" not in jobs.TrainSpec(dataset="mnist", loss="wgan-gp", r1=0.5).args()  # its own penalty
    assert any("R1 penalty" in p for p in jobs.check_spec(jobs.TrainSpec(dataset="mnist", r1=-1.0), None))


def test_default_threads_leave_a_core_for_the_pages() -> None:
    assert jobs.default_threads(2) == 1
    assert jobs.default_threads(16) == 15
    assert jobs.default_threads(1) == 1
    assert jobs.default_threads(2, use_all=True) == 2


def test_admission_warns_for_a_second_job_and_refuses_past_the_limit() -> None:
    assert jobs.admission(0, cores=2) == jobs.Admission(True, "")
    second = jobs.admission(1, cores=2)
    assert second.allowed and "share" in second.message and "2 CPU cores" in second.message
    third = jobs.admission(2, cores=2)
    assert not third.allowed and "at most 2" in third.message
    assert jobs.admission(3, cores=16).allowed and not jobs.admission(4, cores=16).allowed
    assert not jobs.admission(2, cores=64, cuda=True).allowed  # GPU memory is shared


def test_derive_state_from_status_launches_and_liveness() -> None:
    alive = {111}.__contains__
    launch = {"pid": 111, "at": 100.0, "kind": "start", "steps": 50}
    # launched, no status yet, process alive: loading data
    assert jobs.derive_state({}, {"launches": [launch]}, alive, False)[0] == "starting"
    # launched, process died before writing a status: failed
    assert jobs.derive_state({}, {"launches": [dict(launch, pid=222)]}, alive, False)[0] == "failed"
    # ... unless the user had asked it to stop
    st = jobs.derive_state({}, {"launches": [dict(launch, pid=222)], "stop_requested_at": 101}, alive, False)
    assert st[0] == "stopped" and "before training" in st[2]
    # a resume whose process is alive but has not written its status yet reads "starting", not the old state
    old = {"state": "stopped", "pid": 99, "updated": 90.0}
    st = jobs.derive_state(old, {"launches": [dict(launch, kind="resume")]}, alive, True)
    assert st[0] == "starting" and "resum" in st[2]
    running = {"state": "running", "pid": 111, "updated": 105.0}
    assert jobs.derive_state(running, {"launches": [launch]}, alive, True)[0] == "running"
    assert jobs.derive_state(running, {"launches": [launch], "stop_requested_at": 106}, alive, True)[0] == "stopping"
    # running but the pid is gone: failed with an explanation; force-stopped: stopped
    dead = dict(running, pid=333)
    st = jobs.derive_state(dead, {"launches": [dict(launch, pid=333)]}, alive, True)
    assert st[0] == "failed" and "unexpectedly" in st[2]
    forced = {"launches": [dict(launch, pid=333)], "force_stopped_at": 107}
    assert jobs.derive_state(dead, forced, alive, True)[0] == "stopped"
    failed = {"state": "failed", "pid": 111, "updated": 105.0, "error": "training diverged"}
    assert jobs.derive_state(failed, {"launches": [launch]}, alive, True)[:2] == ("failed", "training diverged")
    # a run made outside the app (no app.json) is read from its status alone
    assert jobs.derive_state({"state": "finished", "pid": 5, "updated": 1}, {}, alive, True)[0] == "finished"


def test_check_spec_explains_unusable_choices() -> None:
    acgan = jobs.TrainSpec(dataset="x", model="acgan", image_size=32)
    assert any("two class folders" in p for p in jobs.check_spec(acgan, classes=0))
    assert jobs.check_spec(acgan, classes=2) == []
    assert any("32 or 64" in p for p in jobs.check_spec(jobs.TrainSpec(dataset="x", model="acgan", image_size=128), 3))
    assert any("dataset" in p for p in jobs.check_spec(jobs.TrainSpec(dataset=""), None))
    assert any("no usable images" in p for p in jobs.check_spec(jobs.TrainSpec(dataset="x"), 0, images=0))


# -- real subprocesses --------------------------------------------------------------------
def test_launch_list_stop_resume_finish_delete(home: Path, shapes: Path) -> None:
    info = jobs.launch(tiny_spec(shapes), "Shapes: tiny!")
    assert info.path.parent == home / "runs" and info.name == "Shapes-tiny"
    assert info.state in ("starting", "running") and info.title == "Shapes: tiny!"
    meta = json.loads((info.path / "app.json").read_text())
    assert meta["dataset_label"] == "shapes" and meta["launches"][0]["kind"] == "start"

    wait_until(lambda: len(rows(jobs.run_info(info.name))) >= 3, what="three metrics rows")
    running = jobs.run_info(info.name)
    assert running.state == "running" and running.step >= 4 and running.total_steps == 100_000
    assert [r.name for r in jobs.list_runs()] == [info.name] and jobs.active_runs()[0].name == info.name
    with pytest.raises(jobs.JobError, match="stop it before deleting"):
        jobs.delete(info.name)
    with pytest.raises(jobs.JobError, match="stop it before resuming"):
        jobs.resume(info.name, 10_000)

    jobs.stop(info.name)
    stopped = wait_until(lambda: (i := jobs.run_info(info.name)).state == "stopped" and i, what="stopped")
    assert stopped.has_checkpoint and stopped.can_resume and not (info.path / "STOP").exists()
    step = stopped.step
    assert step >= 4 and rows(stopped)[-1]["step"] == step

    with pytest.raises(jobs.JobError, match="already at step"):
        jobs.resume(info.name, step)
    jobs.resume(info.name, step + 12)
    done = wait_until(lambda: (i := jobs.run_info(info.name)).state == "finished" and i, what="finished")
    assert done.step == step + 12 == done.total_steps
    steps = [r["step"] for r in rows(done)]
    assert steps == sorted(set(steps)) and steps[-1] == step + 12  # resumed rows continue, no duplicates
    assert json.loads((info.path / "app.json").read_text())["launches"][-1]["kind"] == "resume"
    assert "resume" in (info.path / "train.log").read_text()

    jobs.delete(info.name)
    assert not info.path.exists() and jobs.list_runs() == []


def test_reattach_from_disk_and_force_stop(home: Path, shapes: Path) -> None:
    info = jobs.launch(tiny_spec(shapes), "reattach")
    wait_until(lambda: jobs.run_info(info.name).has_checkpoint, what="a first checkpoint")
    jobs._procs.clear()  # a new server process knows nothing but the run folders
    again = jobs.run_info(info.name)
    assert again.state == "running" and again.pid == info.pid
    forced = jobs.force_stop(info.name)
    assert forced.state == "stopped" and "force" in forced.note
    assert forced.has_checkpoint  # resume continues from the last periodic checkpoint


def test_stop_while_loading_and_a_failed_start_read_plainly(home: Path, shapes: Path, tmp_path: Path) -> None:
    early = jobs.launch(tiny_spec(shapes), "early")
    jobs.stop(early.name)  # still importing torch / loading data: SIGTERM at once
    st = wait_until(lambda: (i := jobs.run_info(early.name)).state in ("stopped", "failed") and i, what="end")
    assert st.state == "stopped" and not st.can_resume

    flat = write_image_folder(tmp_path / "flat", {"": 10})
    bad = jobs.launch(tiny_spec(flat, model="acgan"), "no classes")
    st = wait_until(lambda: (i := jobs.run_info(bad.name)).state == "failed" and i, what="failed")
    assert "class" in st.error and "Traceback" not in st.error
    assert jobs.delete(bad.name) is None and not bad.path.exists()


def test_two_jobs_on_cpu_are_allowed_with_a_warning_then_refused(home: Path, shapes: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs.os, "cpu_count", lambda: 2)
    a = jobs.launch(tiny_spec(shapes), "first")
    b = jobs.launch(tiny_spec(shapes), "second")
    assert len(jobs.active_runs()) == 2
    with pytest.raises(jobs.JobError, match="at most 2"):
        jobs.launch(tiny_spec(shapes), "third")
    for r in (a, b):
        jobs.force_stop(r.name)
    assert jobs.active_runs() == []


def test_calibration_reports_speed_or_a_readable_error(home: Path, shapes: Path, tmp_path: Path) -> None:
    est = jobs.calibrate(tiny_spec(shapes, steps=500), steps=3)
    assert est["ms_per_step"] > 0 and est["img_per_s"] > 0 and est["steps"] == 500
    assert est["eta_s"] == pytest.approx(est["ms_per_step"] * 500 / 1000, rel=0.05)
    assert jobs.list_runs() == [] and not (home / "runs" / "missing").exists()  # a dry run writes no run
    with pytest.raises(jobs.JobError) as err:
        jobs.calibrate(tiny_spec(tmp_path / "missing"), steps=2)
    assert "not found" in str(err.value) and "Traceback" not in str(err.value)


def test_publish_names_are_checked(home: Path, shapes: Path) -> None:
    info = jobs.launch(tiny_spec(shapes, steps=20, ckpt_every=10), "to publish")
    wait_until(lambda: jobs.run_info(info.name).state == "finished", what="finished")
    with pytest.raises(jobs.JobError, match="invalid name"):
        jobs.publish(info.name, "../evil")
    entry = jobs.publish(info.name, "shapes-v1")
    assert entry.kind == "published" and entry.path == home / "published" / "shapes-v1"
    with pytest.raises(jobs.JobError, match="already published"):
        jobs.publish(info.name, "shapes-v1")
    assert jobs.publish(info.name, "shapes-v1", replace=True).name == "shapes-v1"
    note = json.loads((entry.path / "published.json").read_text())
    assert note["run"] == info.name and note["step"] == 20


def test_unknown_or_unsafe_run_names_are_refused(home: Path) -> None:
    for bad in ("../etc", "nope", ""):
        with pytest.raises(ValueError):
            jobs.run_info(bad)


def test_stop_escalates_to_sigterm_after_the_grace_period(home: Path, shapes: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    info = jobs.launch(tiny_spec(shapes), "grace")
    wait_until(lambda: jobs.run_info(info.name).state == "running", what="running")
    sent = []
    monkeypatch.setattr(jobs, "_signal", lambda pid, sig: sent.append((pid, sig)) or True)
    meta = jobs.read_meta(info.path)
    meta["stop_requested_at"] = time.time() - 100  # asked long ago, still running
    jobs.write_meta(info.path, meta)
    jobs.tick()
    assert sent and sent[0] == (info.pid, jobs.signal.SIGTERM)
    jobs.tick()
    assert len(sent) == 1  # only once


def test_all_gpus_launches_one_process_per_gpu_under_torchrun() -> None:
    from ui.jobs import trainer_command

    assert trainer_command(1)[1:] == ["-m", "gan_core.train"]
    cmd = trainer_command(4)
    assert cmd[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=4"]
    assert cmd[-2:] == ["-m", "gan_core.train"]
