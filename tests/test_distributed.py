"""Multi-process training (torchrun + DDP on gloo) and the CUDA path."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 0.15  # each logged mean loss of the 2-process run within 15% of the 1-process run


def torchrun(nproc: int, out: Path, *extra: str, steps: int = 60, log_every: int = 10) -> list[dict]:
    # --standalone: the rendezvous binds its own free port (a port picked here and then released
    # could be taken by another process before torchrun binds it), as the app launches it
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           "-m", "gan_core.train", "--dataset", "mnist", "--model", "dcgan", "--image-size", "32",
           "--steps", str(steps), "--batch-size", "32", "--ngf", "8", "--ndf", "8", "--nz", "16", "--device", "cpu",
           "--threads", "1", "--out", str(out), "--log-every", str(log_every), "--sample-every", str(steps),
           "--ckpt-every", str(steps // 2), "--quiet", *extra]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert res.returncode == 0, res.stderr[-3000:]
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_two_gloo_processes_match_one_process_at_the_same_global_batch(tmp_path: Path) -> None:
    one = torchrun(1, tmp_path / "one")
    two = torchrun(2, tmp_path / "two")
    assert [r["step"] for r in one] == [r["step"] for r in two] == [10, 20, 30, 40, 50, 60]
    for a, b in zip(one, two):
        for key in ("loss_d", "loss_g"):
            assert abs(a[key] - b[key]) <= TOLERANCE * abs(a[key]), (a["step"], key, a[key], b[key])
    # a shard per rank: the 2-process run covers the epoch in the same number of steps
    assert two[-1]["epoch"] == pytest.approx(one[-1]["epoch"])
    # rank 0 alone writes the run directory
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == [
        "checkpoints", "config.json", "metrics.jsonl", "samples", "status.json"]
    assert json.loads((tmp_path / "two" / "status.json").read_text())["state"] == "finished"


@pytest.mark.parametrize("extra,stat", [(("--r1", "1", "--r1-every", "2"), "r1"),
                                        (("--loss", "wgan-gp"), "gp")])
@pytest.mark.slow
def test_two_gloo_processes_train_with_a_gradient_penalty(tmp_path: Path, extra: tuple, stat: str) -> None:
    """R1 (with D's BatchNorm, as the MNIST DCGAN preset has it) and WGAN-GP (5 critic steps)
    differentiate D twice under DDP: both run to the end on 2 processes."""
    rows = torchrun(2, tmp_path / "run", *extra, steps=10, log_every=5)
    assert [r["step"] for r in rows] == [5, 10]
    assert all(stat in r and all(math.isfinite(r[k]) for k in ("loss_d", "loss_g", stat)) for r in rows)
    assert json.loads((tmp_path / "run" / "status.json").read_text())["state"] == "finished"


class FakeDDP(torch.nn.Module):
    """DistributedDataParallel's place in a test without a process group: wraps, records, forwards."""

    def __init__(self, module: torch.nn.Module, **kwargs):
        super().__init__()
        self.module, self.kwargs = module, kwargs

    def forward(self, *a, **kw):
        return self.module(*a, **kw)


def batchnorm_kinds(m: torch.nn.Module) -> set[str]:
    return {type(x).__name__ for x in m.modules() if isinstance(x, torch.nn.modules.batchnorm._BatchNorm)}


@pytest.mark.parametrize("train,d_sync", [({}, True), ({"r1_gamma": 1.0}, False),
                                          ({"loss": "wgan-gp"}, False)])
def test_simulated_cuda_ddp_keeps_syncbatchnorm_out_of_a_penalised_d(monkeypatch: pytest.MonkeyPatch,
                                                                     train: dict, d_sync: bool) -> None:
    """SyncBatchNorm's backward has no double backward, so R1 / WGAN-GP on several GPUs failed at
    the first step. Simulated here (no GPU, no process group): the trainer, on a CUDA device
    under DDP, converts G's BatchNorm and keeps D's per rank when D has a penalty."""
    import numpy as np

    from gan_core import distributed as distmod
    from gan_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from gan_core.training import Trainer

    asked: list[tuple] = []
    real_plan = distmod.sync_batchnorm_plan

    def plan_on_cuda(device: torch.device, penalised_d: bool) -> tuple[bool, bool]:
        asked.append((device.type, penalised_d))
        return real_plan(torch.device("cuda", 1), penalised_d)  # what rank 1 of a GPU launch decides

    monkeypatch.setattr(distmod, "init", lambda info, device_type: None)
    monkeypatch.setattr(distmod, "DDP", FakeDDP)
    monkeypatch.setattr(distmod, "sync_batchnorm_plan", plan_on_cuda)
    cfg = RunConfig(ModelConfig(arch="dcgan", image_size=32, channels=1, nz=8, ngf=4, ndf=4, d_norm="batch"),
                    DataConfig(source="x"), TrainConfig(steps=1, batch_size=16, device="cpu", **train))
    images = np.zeros((64, 32, 32, 1), np.uint8)
    tr = Trainer(cfg, images, np.zeros(64, np.int64), None, dist=distmod.DistInfo(rank=1, world=2, local_rank=1))
    assert asked == [("cpu", not d_sync)]
    assert batchnorm_kinds(tr.G) == {"SyncBatchNorm"}
    assert batchnorm_kinds(tr.D) == ({"SyncBatchNorm"} if d_sync else {"BatchNorm2d"})
    assert isinstance(tr.D, FakeDDP) and False in tr.D.kwargs.values()  # no buffer sync in forward


def test_syncbatchnorm_plan() -> None:
    from gan_core.distributed import sync_batchnorm_plan

    assert sync_batchnorm_plan(torch.device("cuda", 0), penalised_d=False) == (True, True)
    assert sync_batchnorm_plan(torch.device("cuda", 0), penalised_d=True) == (True, False)
    assert sync_batchnorm_plan(torch.device("cpu"), penalised_d=False) == (False, False)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (this machine has none)")
def test_cuda_training_uses_autocast_channels_last_and_gpu_resident_data(tmp_path: Path) -> None:
    import numpy as np

    from gan_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from gan_core.runs import RunDir
    from gan_core.training import Trainer

    cfg = RunConfig(ModelConfig(arch="dcgan", image_size=64, channels=3, ngf=16, ndf=16), DataConfig(source="x"),
                    TrainConfig(steps=4, batch_size=16, log_every=2, sample_every=4, ckpt_every=4, device="cuda"))
    run = RunDir(tmp_path / "run")
    run.create(cfg)
    images = np.random.RandomState(0).randint(0, 256, (64, 64, 64, 3), dtype=np.uint8)
    tr = Trainer(cfg, images, np.zeros(64, np.int64), run)
    assert tr.policy.amp_dtype is not None and tr.policy.channels_last
    assert tr.batches.images.is_cuda
    assert tr.run() == "finished"
    assert "gpu_mem_mb" in run.read_metrics()[-1]


def test_only_rank_zero_refuses_an_existing_run_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under torchrun rank 1 may start after rank 0 created --out; it must not take that for a clash."""
    from gan_core import train
    from gan_core.errors import ConfigError

    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text("{}")  # what rank 0 has just written

    class ReachedDataLoading(Exception):
        pass

    def stop_here(*_args, **_kwargs):
        raise ReachedDataLoading

    monkeypatch.setattr(train, "_load_data", stop_here)
    argv = ["--dataset", "mnist", "--model", "dcgan", "--out", str(out)]
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    with pytest.raises(ReachedDataLoading):
        train.main(argv)
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(ConfigError, match="already exists"):
        train.main(argv)
