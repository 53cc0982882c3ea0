"""scripts/gpu_check.sh, as far as a machine without a GPU can run it: it must stop at once with
its "no CUDA GPU" refusal (exit 3), not fail half-way through its checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="on a GPU machine the script runs for real")
def test_gpu_check_refuses_cleanly_without_a_gpu(tmp_path: Path) -> None:
    res = subprocess.run(["bash", "scripts/gpu_check.sh", str(tmp_path / "out")], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, env=dict(os.environ, PYTHON=sys.executable))
    assert res.returncode == 3, res.stdout + res.stderr
    assert "no CUDA GPU visible" in res.stdout and "Traceback" not in res.stdout + res.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["env.txt", "summary.txt"]
    assert "no CUDA GPU" in (tmp_path / "out" / "summary.txt").read_text()


def test_gpu_check_is_valid_bash() -> None:
    subprocess.run(["bash", "-n", "scripts/gpu_check.sh"], cwd=ROOT, check=True)
