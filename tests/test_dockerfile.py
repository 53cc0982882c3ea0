"""The Docker Space's commands, run as far as this machine allows (no Docker engine here):
the image's CMD, read from the Dockerfile, must start the whole app on one port."""

import json
import os
import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ports_agree_and_requirements_are_the_pinned_ones() -> None:
    text = dockerfile()
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", text, re.M).group(1))
    port = cmd[cmd.index("--server.port") + 1]
    assert re.search(rf"^EXPOSE {port}$", text, re.M)
    assert f"127.0.0.1:{port}/_stcore/health" in text
    assert "-r requirements.txt" in text and cmd[:3] == ["streamlit", "run", "app.py"]
    assert f"app_port: {port}" in (ROOT / "docs" / "spaces.md").read_text()  # the Docker Space front matter
    space = (ROOT / "space" / "README.md").read_text()
    assert "app_file: gradio_app.py" in space and "sdk: gradio" in space and "sdk_version: 6.31.0" in space


@pytest.mark.slow
def test_the_image_command_serves_the_studio_and_the_panel(tmp_path: Path) -> None:
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile(), re.M).group(1))
    port = free_port()
    cmd[cmd.index("--server.port") + 1] = str(port)
    cmd[cmd.index("--server.address") + 1] = "127.0.0.1"
    env = dict(os.environ, GAN_STUDIO_HOME=str(tmp_path / "home"), STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    bin_dir = Path(os.environ.get("VIRTUAL_ENV", "")) / "bin"
    exe = str(bin_dir / cmd[0]) if (bin_dir / cmd[0]).exists() else cmd[0]
    proc = subprocess.Popen([exe, *cmd[1:]], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline, health = time.time() + 120, None
        while time.time() < deadline and proc.poll() is None:
            try:
                health = urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read()
                break
            except OSError:
                time.sleep(0.5)
        assert health == b"ok", proc.stdout.read1().decode(errors="replace") if proc.poll() is not None else health
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/gradio/", timeout=30)
        assert page.status == 200 and b"gradio" in page.read().lower()
        config = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/gradio/config", timeout=30).read())
        names = {d.get("api_name") for d in config.get("dependencies", [])}
        assert {"render", "interpolate", "animate"} <= names
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def install_command() -> tuple[str, str]:
    """The default of ARG TORCH_INDEX and the RUN that installs the requirements (continuations joined)."""
    instructions = dockerfile().replace("\\\n", " ").splitlines()
    default = next(line for line in instructions if line.startswith("ARG TORCH_INDEX=")).split("=", 1)[1]
    run = next(line for line in instructions if line.startswith("RUN ") and "pip install" in line)
    return default, run[len("RUN "):]


def test_torch_index_comes_from_a_build_argument_a_space_variable_can_set(tmp_path: Path) -> None:
    """A Space cannot pass --build-arg, but it passes its variables as build arguments: the
    variable TORCH_INDEX picks the wheels (a CUDA index for GPU hardware). Runs the image's
    install command under sh with stand-ins for pip and python that print their arguments."""
    default, run = install_command()
    assert default == "https://download.pytorch.org/whl/cpu"
    fake = tmp_path / "bin"
    fake.mkdir()
    for tool in ("pip", "python"):
        (fake / tool).write_text(f'#!/bin/sh\necho {tool} "$@"\n')
        (fake / tool).chmod(0o755)

    def pip_args(torch_index: str) -> str:
        env = dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}", TORCH_INDEX=torch_index)
        out = subprocess.run(["sh", "-c", run], env=env, capture_output=True, text=True, check=True).stdout
        return next(line for line in out.splitlines() if line.startswith("pip "))

    assert pip_args(default) == f"pip install --user --extra-index-url {default} -r requirements.txt"
    cuda = "https://download.pytorch.org/whl/cu130"
    assert pip_args(cuda) == f"pip install --user --extra-index-url {cuda} -r requirements.txt"
    assert pip_args("pypi") == pip_args("") == "pip install --user -r requirements.txt"
    docs = (ROOT / "docs" / "spaces.md").read_text()
    assert "TORCH_INDEX" in docs and cuda in docs
