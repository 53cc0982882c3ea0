"""Every write action checks the caller's role in the service that performs it: as a visitor each
is refused with NotAllowed (and nothing changes), as the owner each does its work."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
from app_helpers import ROOT, image_zip, isolate_home, tiny_config
from conftest import write_image_folder

from gan_core.runs import RunDir, pid_alive
from ui import paths, publishing, roles, run_control, uploads


@dataclass
class World:
    home: Path
    shapes: Path
    sleeper: subprocess.Popen
    spawned: list = field(default_factory=list)
    signals: list = field(default_factory=list)


def _run(name: str, state: str, step: int, total: int, pid: int | None = None, checkpoint: bool = False) -> RunDir:
    rd = RunDir(paths.runs_dir() / name)
    rd.create(tiny_config("mnist", steps=total))
    rd.write_app_meta({"title": name, "created": time.time(), "dataset_label": "mnist", "launches": []})
    if pid is not None:
        rd.record_launch(pid, time.time() - 5, "start", total)
    rd.write_status(state, step=step, total_steps=total, pid=pid)
    if checkpoint:  # the shipped MNIST generator stands in for the run's checkpoint
        for which in ("latest", "best"):
            shutil.copytree(ROOT / "checkpoints" / "mnist-dcgan", rd.checkpoint(which))
    return rd


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    home = isolate_home(tmp_path, monkeypatch)
    w = World(home, write_image_folder(tmp_path / "shapes", {"a": 4, "b": 4}),
              subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"]))
    # no trainer processes and no signals to real trainers: record what would be started / sent
    monkeypatch.setattr(run_control, "_spawn", lambda rd, argv, kind, steps, gpus=1: w.spawned.append((rd.name, kind)))
    real_signal = run_control._signal
    monkeypatch.setattr(run_control, "_signal",
                        lambda pid, sig: w.signals.append((pid, sig)) or (real_signal(pid, sig) if pid == w.sleeper.pid
                                                                          else True))
    _run("stopped-run", "stopped", 10, 20, checkpoint=True)
    _run("running-run", "running", 5, 100, pid=w.sleeper.pid)
    with roles.acting_as(roles.OWNER):
        uploads.save_zip("shapes.zip", image_zip({"a": 3}))
        publishing.publish("stopped-run", "shared-model")
    yield w
    w.sleeper.kill()
    w.sleeper.wait()


def _fake_calibration(monkeypatch: pytest.MonkeyPatch) -> None:
    out = json.dumps({"ms_per_step": 1.0, "img_per_s": 8.0, "steps": 20, "eta_s": 1.0})
    monkeypatch.setattr(run_control.subprocess, "run",
                        lambda *a, **k: subprocess.CompletedProcess(a, 0, stdout=out + "\n", stderr=""))


# name -> (action, what it did when it worked)
ACTIONS: dict[str, tuple[Callable[[World], Any], Callable[[World], bool]]] = {
    "launch": (lambda w: run_control.launch(tiny_config(w.shapes), "new run", "shapes"),
               lambda w: ("new-run", "start") in w.spawned),
    "resume": (lambda w: run_control.resume("stopped-run", 40),
               lambda w: ("stopped-run", "resume") in w.spawned),
    "stop": (lambda w: run_control.stop("running-run", grace_s=-1),
             lambda w: RunDir(paths.runs_dir() / "running-run").stop_requested()),
    "escalate": (lambda w: (run_control.stop("running-run", grace_s=-1), run_control.escalate("running-run", 0.0)),
                 lambda w: any(pid == w.sleeper.pid for pid, _ in w.signals)),
    "force_stop": (lambda w: run_control.force_stop("running-run"),
                   lambda w: not pid_alive(w.sleeper.pid) or w.sleeper.poll() is not None),
    "delete": (lambda w: run_control.delete("stopped-run"),
               lambda w: not (paths.runs_dir() / "stopped-run").exists()),
    "rename": (lambda w: run_control.rename("stopped-run", "a new title"),
               lambda w: RunDir(paths.runs_dir() / "stopped-run").read_app_meta()["title"] == "a new title"),
    "calibrate": (lambda w: run_control.calibrate(tiny_config(w.shapes)),
                  lambda w: True),  # the (faked) estimate came back
    "save_zip": (lambda w: uploads.save_zip("more.zip", image_zip({"c": 2})),
                 lambda w: (paths.uploads_dir() / "more").is_dir()),
    "save_files": (lambda w: uploads.save_files([("x/1.png", image_zip({"": 1}))], "loose"),
                   lambda w: (paths.uploads_dir() / "loose").is_dir()),
    "delete_upload": (lambda w: uploads.delete_upload("shapes"),
                      lambda w: not (paths.uploads_dir() / "shapes").exists()),
    "publish": (lambda w: publishing.publish("stopped-run", "another-model"),
                lambda w: (paths.published_dir() / "another-model" / "config.json").is_file()),
    "unpublish": (lambda w: publishing.unpublish("shared-model"),
                  lambda w: not (paths.published_dir() / "shared-model").exists()),
}


def _snapshot(w: World) -> dict[str, Any]:
    tree = sorted(str(p.relative_to(w.home)) for p in w.home.rglob("*") if ".calibration" not in p.parts)
    titles = {rd.name: RunDir(rd).read_app_meta().get("title") for rd in paths.runs_dir().iterdir()}
    return {"tree": tree, "titles": titles, "spawned": list(w.spawned), "signals": list(w.signals),
            "sleeper": w.sleeper.poll()}


@pytest.mark.parametrize("name", list(ACTIONS))
def test_a_visitor_is_refused_every_write_action_and_nothing_changes(world: World, name: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_calibration(monkeypatch)
    action, _ = ACTIONS[name]
    before = _snapshot(world)
    with roles.acting_as(roles.VISITOR), pytest.raises(roles.NotAllowed) as refused:
        action(world)
    message = str(refused.value)
    assert "owner" in message.lower() and "Traceback" not in message and str(world.home) not in message
    assert _snapshot(world) == before


@pytest.mark.parametrize("name", list(ACTIONS))
def test_the_owner_may_do_every_write_action(world: World, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_calibration(monkeypatch)
    action, worked = ACTIONS[name]
    with roles.acting_as(roles.OWNER):
        action(world)
    assert worked(world)


def test_outside_a_session_the_caller_is_this_computers_owner(world: World) -> None:
    """Scripts, tests and background timers have no Streamlit session: they act as the owner."""
    assert roles.current_role() == roles.OWNER
    run_control.rename("stopped-run", "renamed by a script")
    with roles.acting_as(roles.VISITOR):
        assert roles.current_role() == roles.VISITOR
    assert roles.current_role() == roles.OWNER


def test_the_refusal_says_how_to_become_the_owner(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAN_STUDIO_OWNER_PASSWORD", "s3cret")
    with roles.acting_as(roles.VISITOR), pytest.raises(roles.NotAllowed, match="start a training") as r:
        ACTIONS["launch"][0](world)
    assert "owner password" in str(r.value) and "s3cret" not in str(r.value)
    monkeypatch.delenv("GAN_STUDIO_OWNER_PASSWORD")
    monkeypatch.setenv("SPACE_ID", "someone/studio")  # a public Space without any sign-in: locked
    with roles.acting_as(roles.VISITOR), pytest.raises(roles.NotAllowed, match="GAN_STUDIO_OWNER_PASSWORD"):
        ACTIONS["delete"][0](world)


def test_housekeeping_for_any_viewer_still_ends_an_owners_overdue_stop(world: World) -> None:
    """tick() runs on every viewer's page load: it completes the owner's stop request (SIGTERM
    after the grace period) but cannot start one."""
    with roles.acting_as(roles.VISITOR):
        run_control.tick()
    assert not world.signals  # nobody asked it to stop
    with roles.acting_as(roles.OWNER):
        run_control.stop("running-run", grace_s=-1)
    RunDir(paths.runs_dir() / "running-run").update_app_meta(stop_requested_at=time.time() - 3600)
    with roles.acting_as(roles.VISITOR):
        run_control.tick()
    assert world.signals and world.signals[0][0] == world.sleeper.pid


@pytest.mark.parametrize("action", [
    lambda: run_control.branch("stopped-run", "best", "a branch", {"train.steps": 40}),
    lambda: run_control.roll_back("stopped-run", "best"),
], ids=["branch", "roll_back"])
def test_a_visitor_may_not_branch_or_roll_back_a_run(world: World, action: Callable[[], Any]) -> None:
    # (the owner's side needs checkpoints with training state: tests/test_branch_ui.py)
    before = _snapshot(world)
    with roles.acting_as(roles.VISITOR), pytest.raises(roles.NotAllowed, match="owner"):
        action()
    assert _snapshot(world) == before
