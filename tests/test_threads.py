"""Thread counts: torchrun's one thread per process and container CPU limits are respected."""

from __future__ import annotations

from pathlib import Path

import pytest

from gan_core import cores, device


@pytest.fixture
def eight_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process allowed on 8 cores (its CPU affinity) of a 64-core host."""
    monkeypatch.setattr(cores.os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    monkeypatch.setattr(cores.os, "cpu_count", lambda: 64)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)


def cgroup_v2(root: Path, cpu_max: str, own: str = "/") -> Path:
    (root / "cgroup.controllers").parent.mkdir(parents=True, exist_ok=True)
    (root / "cgroup.controllers").write_text("cpu memory\n")
    d = root / own.lstrip("/")
    d.mkdir(parents=True, exist_ok=True)
    (d / "cpu.max").write_text(cpu_max + "\n")
    return root


def test_cgroup_v2_quota_caps_the_cores(tmp_path: Path, eight_cores: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cores, "_own_cgroup_v2", lambda: "/")
    assert cores.available_cores(cgroup_v2(tmp_path / "a", "200000 100000")) == 2  # a 2-vCPU Space
    assert cores.available_cores(cgroup_v2(tmp_path / "b", "150000 100000")) == 2  # 1.5 CPUs: rounded up
    assert cores.available_cores(cgroup_v2(tmp_path / "c", "50000 100000")) == 1
    assert cores.available_cores(cgroup_v2(tmp_path / "d", "max 100000")) == 8  # no quota: affinity
    assert cores.available_cores(cgroup_v2(tmp_path / "e", "1600000 100000")) == 8  # quota above affinity


def test_cgroup_v2_quota_of_a_parent_group_counts(tmp_path: Path, eight_cores: None,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    root = cgroup_v2(tmp_path, "max 100000", own="/kubepods/pod1/app")
    (root / "kubepods" / "pod1" / "cpu.max").write_text("300000 100000\n")
    monkeypatch.setattr(cores, "_own_cgroup_v2", lambda: "/kubepods/pod1/app")
    assert cores.available_cores(root) == 3


def test_cgroup_v1_quota(tmp_path: Path, eight_cores: None) -> None:
    cpu = tmp_path / "cpu,cpuacct"
    cpu.mkdir()
    (cpu / "cpu.cfs_period_us").write_text("100000\n")
    (cpu / "cpu.cfs_quota_us").write_text("400000\n")
    assert cores.available_cores(tmp_path) == 4
    (cpu / "cpu.cfs_quota_us").write_text("-1\n")  # unlimited
    assert cores.available_cores(tmp_path) == 8


def test_no_cgroup_files_leave_the_affinity(tmp_path: Path, eight_cores: None) -> None:
    assert cores.available_cores(tmp_path / "missing") == 8


def test_default_threads_follow_torchrun(monkeypatch: pytest.MonkeyPatch, eight_cores: None) -> None:
    monkeypatch.setattr(device, "available_cores", lambda cgroup_root=None: 8)
    assert device.default_threads() == 8  # a plain process: every available core
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")  # torchrun, 2 processes on this machine
    assert device.default_threads() == 4
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "16")
    assert device.default_threads() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # what torchrun sets when it starts several
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert device.default_threads() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert device.default_threads() == 3


def test_set_threads_respects_torchrun_unless_asked(monkeypatch: pytest.MonkeyPatch, eight_cores: None) -> None:
    import torch

    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
        assert device.set_threads(0) == 1  # used to take every core, overriding torchrun
        assert device.set_threads(2) == 2  # an explicit --threads wins
    finally:
        torch.set_num_threads(before)


def test_device_summary_counts_the_available_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(device, "available_cores", lambda cgroup_root=None: 2)
    monkeypatch.setattr(device.os, "cpu_count", lambda: 64)
    assert device.device_summary()["cpu_cores"] == 2
    assert device.describe_device(torch.device("cpu")).startswith("CPU (2 cores")


def test_available_cores_on_this_machine_is_at_most_os_cpu_count() -> None:
    import os

    assert 1 <= cores.available_cores() <= (os.cpu_count() or 1)


def test_counting_cores_imports_no_torch() -> None:
    """The app's job launcher counts cores in the Streamlit process, which does not load torch."""
    import subprocess
    import sys

    code = "import sys, gan_core.cores as c; c.available_cores(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False"
