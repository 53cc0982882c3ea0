"""How many CPU cores this process may use, without importing torch (the app's job launcher
asks too).

`os.cpu_count()` counts the host's cores. A container is often limited to fewer: by its CPU
affinity (`os.sched_getaffinity`) or by a CPU quota in its cgroup (a 2-vCPU Space may run on a
host with dozens of cores). Threads beyond the quota only make the kernel throttle the process.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

_CGROUP = Path("/sys/fs/cgroup")


def _cgroup_v2_quota(root: Path, rel: str) -> float | None:
    """The tightest cpu.max quota (in CPUs) from this process's cgroup up to the root."""
    best: float | None = None
    d = (root / rel.lstrip("/")) if rel else root
    while True:
        try:
            quota, period = (d / "cpu.max").read_text().split()[:2]
            if quota != "max":
                cpus = int(quota) / int(period)
                best = cpus if best is None else min(best, cpus)
        except (OSError, ValueError):
            pass
        if d == root or root not in d.parents:
            return best
        d = d.parent


def _cgroup_v1_quota(root: Path) -> float | None:
    for d in (root / "cpu", root / "cpu,cpuacct", root / "cpuacct,cpu"):
        try:
            quota = int((d / "cpu.cfs_quota_us").read_text())
            period = int((d / "cpu.cfs_period_us").read_text())
        except (OSError, ValueError):
            continue
        return quota / period if quota > 0 and period > 0 else None
    return None


def _own_cgroup_v2() -> str:
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                return line[3:]
    except OSError:
        pass
    return "/"


def available_cores(cgroup_root: Path | None = None) -> int:
    """The CPU cores this process may use: its CPU affinity, capped by the container's CPU quota
    (cgroup v2 cpu.max, or v1 cpu.cfs_quota_us / cpu.cfs_period_us), rounded up. os.cpu_count()
    counts the host's cores, which a container limited to 2 CPUs may not use."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    root = cgroup_root or _CGROUP
    quota = _cgroup_v2_quota(root, _own_cgroup_v2()) if (root / "cgroup.controllers").exists() \
        else _cgroup_v1_quota(root)
    if quota is not None:
        cores = min(cores, max(1, math.ceil(quota)))
    return max(1, cores)
