"""ui.run_focus: which run the Monitor watches, when a stopped Monitor offers to follow a newer run,
and which run Runs' "Manage a run" opens on; then the same rules on the pages (AppTest, fake run
folders: "running" ones carry this test process's pid, so they look alive)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from app_helpers import isolate_home, opened, tiny_config
from streamlit.testing.v1 import AppTest

from gan_core.runs import RunDir
from ui import run_focus
from ui.run_focus import RunStart


# -- the rules -----------------------------------------------------------------------------------
def test_the_watched_run_is_the_tabs_then_the_urls_then_the_newest_active_then_the_newest() -> None:
    names = ["c", "b", "a"]  # newest first
    assert run_focus.watched(names, "a", "b", active=["c"]) == "a"
    assert run_focus.watched(names, None, "b", active=["c"]) == "b"
    assert run_focus.watched(names, "gone", "../etc", active=["b"]) == "b"
    assert run_focus.watched(names, None, None) == "c"
    assert run_focus.watched([], "a", "a") is None


def test_a_stopped_run_offers_the_newest_run_started_after_it() -> None:
    runs = [RunStart("old-active", 50.0, True), RunStart("watched", 100.0, False),
            RunStart("newer", 150.0, True), RunStart("newest", 160.0, True), RunStart("done", 170.0, False)]
    assert run_focus.follow_offer("watched", runs) == "newest"
    # only active runs started later count; an active watched run needs no offer
    assert run_focus.follow_offer("watched", [runs[0], runs[1], runs[4]]) is None
    assert run_focus.follow_offer("newer", runs) is None
    assert run_focus.follow_offer("unknown", runs) is None


def test_a_resume_counts_as_a_later_start() -> None:
    assert run_focus.last_start(100.0, [{"at": 90.0}, {"at": 300.0, "kind": "resume"}]) == 300.0
    assert run_focus.last_start(100.0, []) == 100.0
    assert run_focus.last_start(100.0, ["junk", {"at": None}]) == 100.0


def test_manage_opens_on_the_run_the_user_came_from() -> None:
    names = ["c", "b", "a"]
    assert run_focus.manage_default(names, "b", "a") == "b"  # a link with ?run=
    assert run_focus.manage_default(names, None, "a") == "a"  # the run this tab watched
    assert run_focus.manage_default(names, "../x", "gone") == "c"
    assert run_focus.manage_default([], "a", "a") is None


# -- on the pages ------------------------------------------------------------------------------
@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolate_home(tmp_path, monkeypatch)


def fake_run(home: Path, name: str, state: str, created: float, step: int = 10) -> RunDir:
    rd = RunDir(home / "runs" / name)
    rd.create(tiny_config("mnist", steps=100))
    rd.write_app_meta({"title": name, "created": created, "launches": [{"pid": os.getpid(), "at": created,
                                                                         "kind": "start", "steps": 100}]})
    rd.write_status(state, pid=os.getpid(), step=step, total_steps=100)
    return rd


def follow_buttons(at: AppTest) -> list:
    return [b for b in at.button if b.key == "follow_run"]


def test_monitor_keeps_its_run_and_offers_to_follow_a_newer_one(home: Path) -> None:
    now = time.time()
    fake_run(home, "first", "stopped", now - 100)
    at = opened("pages/monitor.py", run="first")
    assert at.selectbox(key="monitor_pick").value == "first" and not follow_buttons(at)

    fake_run(home, "second", "running", now)  # started from another tab
    at.run()
    assert at.selectbox(key="monitor_pick").value == "first"  # not switched by itself
    assert any("A new run started" in i.value and "second" in i.value for i in at.info)
    follow_buttons(at)[0].click().run()
    assert at.selectbox(key="monitor_pick").value == "second" and at.query_params["run"] == "second"


def test_a_reload_of_the_monitor_keeps_the_watched_run_while_another_runs(home: Path) -> None:
    now = time.time()
    fake_run(home, "watched", "running", now - 100)
    fake_run(home, "later", "running", now)
    at = opened("pages/monitor.py", run="watched")  # a reload: fresh session, the URL names the run
    assert at.selectbox(key="monitor_pick").value == "watched" and at.query_params["run"] == "watched"
    assert not follow_buttons(at)  # an active watched run needs no offer


def test_manage_a_run_opens_on_the_run_the_user_came_from(home: Path) -> None:
    now = time.time()
    fake_run(home, "older", "stopped", now - 100)
    fake_run(home, "newer", "stopped", now)
    at = opened("pages/runs.py", run="older")
    assert at.selectbox(key="manage_run").value == "older"

    at = opened("pages/monitor.py", run="older")  # watched on the Monitor, then to Runs without a link
    at.switch_page("pages/runs.py").run()
    assert at.selectbox(key="manage_run").value == "older" and at.query_params["run"] == "older"
