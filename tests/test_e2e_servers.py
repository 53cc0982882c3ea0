"""tests/e2e_servers.py on its own: a server that dies or never answers gives a clear error with its
log, and stopping it takes the processes it started with it. (The real servers are in the e2e tests.)"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from e2e_servers import serve


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its parent) counts as gone
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_server_that_exits_says_so_with_its_log(tmp_path: Path) -> None:
    script = tmp_path / "dies.py"
    script.write_text("import sys; print('cannot bind the port: boom', flush=True); sys.exit(3)\n")
    with pytest.raises(RuntimeError, match="exited with code 3") as err:
        with serve("gradio", {}, tmp_path / "dies.log", script=str(script)):
            pytest.fail("never healthy")
    assert "cannot bind the port: boom" in str(err.value)


def test_a_server_that_never_answers_times_out_and_is_stopped_with_its_children(tmp_path: Path) -> None:
    script = tmp_path / "hangs.py"
    pid_file = tmp_path / "child.pid"
    script.write_text(
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "print('listening soon', flush=True)\n"
        "time.sleep(600)\n")
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match=r"did not answer on http://127\.0\.0\.1:\d+/config within 3 s") as err:
        with serve("gradio", {}, tmp_path / "hangs.log", script=str(script), timeout=3):
            pytest.fail("never healthy")
    assert "listening soon" in str(err.value)
    assert time.monotonic() - t0 < 30
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child), "the server's own child process outlived it"


def test_an_unknown_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'studio' or 'gradio'"):
        with serve("flask", {}, tmp_path / "x.log"):  # type: ignore[arg-type]
            pass
