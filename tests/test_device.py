"""Process-level policies from gan_core.device: the allocator setting a training process applies."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Times nothing: counts the minor page faults of each of eight real ACGAN-32 training steps (batch
# 64, synthetic images) after four warm-up steps, with glibc's default or with the policy.
_PROBE = """
import resource, sys, numpy as np, torch
from gan_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from gan_core.device import keep_freed_memory
from gan_core.training import Trainer
kept = keep_freed_memory() if sys.argv[1] == "keep" else None
torch.set_num_threads(1)
rng = np.random.default_rng(0)
images = rng.integers(0, 256, (256, 32, 32, 1), dtype=np.uint8)
labels = np.arange(256) % 10
cfg = RunConfig(ModelConfig(arch="acgan", image_size=32, channels=1, num_classes=10),
                DataConfig(source="probe"), TrainConfig(steps=100, batch_size=64))
trainer = Trainer(cfg, images, labels, None)
for _ in range(4):
    trainer.train_step()
faults = []
for _ in range(8):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    trainer.train_step()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(kept, *faults)
"""


def _faults(mode: str) -> tuple[str, list[int]]:
    out = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True)
    kept, *faults = out.stdout.split()
    return kept, [int(f) for f in faults]


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")
def test_keep_freed_memory_stops_page_faults_in_training_steps() -> None:
    _, default = _faults("default")
    kept, with_policy = _faults("keep")
    assert kept == "True"
    # glibc's default hands a step's activation buffers back to the kernel and faults them in
    # again: 0 to 24,000 faults a step on the dev machine, most steps 4,000-16,000 (a CI machine
    # averaged 4,000). With the policy the pages stay mapped and are reused: 0 on most steps here.
    # The kernel can add faults of its own to some steps (that CI machine read 2,700 a step with the
    # policy, averaged over three steps), so each mode is judged by its quietest half of the steps.
    quiet_default, quiet_policy = sum(sorted(default)[:4]), sum(sorted(with_policy)[:4])
    assert quiet_default > 1000, default  # the probe sees the default's faults at all
    assert quiet_policy < quiet_default / 4, (with_policy, default)


def test_keep_freed_memory_is_a_no_op_without_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    import ctypes

    from gan_core import device

    def no_libc(name: str):
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(ctypes, "CDLL", no_libc)
    assert device.keep_freed_memory() is False
    monkeypatch.setattr(device.sys, "platform", "darwin")
    assert device.keep_freed_memory() is False


def test_cpu_training_is_channels_last_in_fp32_and_bf16() -> None:
    """fp32 on the CPU trains channels_last like bf16 does (7-15% faster on an AVX2 CPU); the
    trainer's networks and batches follow the policy."""
    import numpy as np
    import torch

    from gan_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from gan_core.device import cpu_has_bf16, resolve_policy
    from gan_core.training import Trainer

    fp32 = resolve_policy("cpu", "fp32")
    assert fp32.channels_last and fp32.amp_dtype is None and fp32.describe().endswith("fp32, channels_last")
    assert resolve_policy("cpu", "auto").channels_last
    if cpu_has_bf16():
        assert resolve_policy("cpu", "bf16").channels_last
    cfg = RunConfig(ModelConfig(arch="dcgan", image_size=32, channels=3, ngf=8, ndf=8, nz=8),
                    DataConfig(source="x"), TrainConfig(steps=2, batch_size=4, device="cpu", precision="fp32"))
    images = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    tr = Trainer(cfg, images, np.zeros(8, np.int64), None)
    convs = [m.weight for m in tr.G.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    assert convs and all(w.is_contiguous(memory_format=torch.channels_last) for w in convs)
    real, _ = tr.batches.next(tr.gen)
    assert real.is_contiguous(memory_format=torch.channels_last)
    tr.train_step()


# -- precision: native bf16 of the rank's own GPU, emulation excluded ----------------------------
def fake_gpus(monkeypatch: pytest.MonkeyPatch, capabilities: dict[int, tuple[int, int]]) -> None:
    """Pretend CUDA GPUs with these compute capabilities are present (index -> (major, minor)).
    torch's own is_bf16_supported() says True for all of them, as it does for an emulating T4."""
    import torch

    def capability(device=None):
        index = device.index if isinstance(device, torch.device) else device
        return capabilities[0 if index is None else index]

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: len(capabilities))
    monkeypatch.setattr(torch.cuda, "get_device_capability", capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    monkeypatch.setattr(torch.version, "hip", None)


def test_auto_precision_is_fp16_on_a_t4_and_bf16_from_ampere_per_rank(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from gan_core.device import inference_autocast, native_bf16, resolve_policy

    fake_gpus(monkeypatch, {0: (7, 5), 1: (8, 0), 2: (9, 0)})  # T4, A100, H100 in one machine
    t4 = resolve_policy("cuda", "auto", local_rank=0)
    assert (t4.device, t4.precision, t4.use_scaler) == (torch.device("cuda", 0), "fp16", True)
    for rank in (1, 2):
        p = resolve_policy("cuda", "auto", local_rank=rank)
        assert (p.device, p.precision, p.use_scaler) == (torch.device("cuda", rank), "bf16", False)
    assert not native_bf16(torch.device("cuda", 0)) and native_bf16(torch.device("cuda", 1))
    # evaluation's autocast follows the same rule: none on the T4, bf16 on the A100
    assert not isinstance(inference_autocast(torch.device("cuda", 0)), torch.autocast)
    amp = inference_autocast(torch.device("cuda", 1))
    assert isinstance(amp, torch.autocast) and amp.fast_dtype == torch.bfloat16
    # fp32 and fp16 asked for explicitly are honoured on any GPU
    assert resolve_policy("cuda", "fp16", local_rank=1).use_scaler
    assert resolve_policy("cuda", "fp32", local_rank=0).amp_dtype is None


def test_native_bf16_is_false_without_cuda_and_on_mps(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from gan_core.device import cpu_has_bf16, cuda_has_native_bf16, native_bf16

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "hip", None)
    assert cuda_has_native_bf16(0) is False
    assert native_bf16(torch.device("mps")) is False
    assert native_bf16(torch.device("cpu")) == cpu_has_bf16()


def test_deterministic_mode_sets_the_flags_exact_resume_needs_on_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from gan_core.device import deterministic_requested, set_deterministic

    cudnn = torch.backends.cudnn
    before = (torch.are_deterministic_algorithms_enabled(), cudnn.deterministic, cudnn.benchmark)
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    try:
        set_deterministic(True)
        assert torch.are_deterministic_algorithms_enabled()
        assert cudnn.deterministic and not cudnn.benchmark
        import os

        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
        set_deterministic(False)
        assert not torch.are_deterministic_algorithms_enabled() and not cudnn.deterministic
    finally:
        torch.use_deterministic_algorithms(before[0])
        cudnn.deterministic, cudnn.benchmark = before[1], before[2]
    for value, on in (("1", True), ("true", True), ("0", False), ("", False)):
        monkeypatch.setenv("GAN_STUDIO_DETERMINISTIC", value)
        assert deterministic_requested() is on


def test_synchronize_is_a_no_op_off_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from gan_core.device import synchronize

    calls: list = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: calls.append(device))
    synchronize(torch.device("cpu"))
    assert calls == []
    synchronize(torch.device("cuda", 1))
    assert calls == [torch.device("cuda", 1)]


def test_batches_above_the_gpu_limit_take_the_pinned_path() -> None:
    import torch

    from gan_core.batches import GPU_RESIDENT_LIMIT, placement

    cuda = torch.device("cuda", 0)
    assert placement(cuda, GPU_RESIDENT_LIMIT) == "device"
    assert placement(cuda, GPU_RESIDENT_LIMIT + 1) == "pinned"
    assert placement(torch.device("cpu"), 10 * GPU_RESIDENT_LIMIT) == "host"


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA GPU (this machine has none)")
def test_pinned_batches_are_gathered_into_pinned_memory_and_match_the_resident_path() -> None:
    import numpy as np
    import torch

    from gan_core.batches import BatchSource

    images = np.random.RandomState(0).randint(0, 256, (64, 16, 16, 3), dtype=np.uint8)
    labels = np.arange(64) % 10
    cuda = torch.device("cuda")
    pinned = BatchSource(images, labels, 8, seed=1, device=cuda, resident_limit=0)
    resident = BatchSource(images, labels, 8, seed=1, device=cuda)
    assert pinned.placement == "pinned" and resident.placement == "device"
    assert not pinned.images.is_cuda and pinned.labels.is_cuda
    assert pinned._gather_pinned(torch.arange(8)).is_pinned()
    for _ in range(3):
        (xa, ya), (xb, yb) = pinned.next(torch.Generator()), resident.next(torch.Generator())
        assert xa.is_cuda and torch.equal(xa, xb) and torch.equal(ya, yb)
