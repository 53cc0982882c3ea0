"""Device, precision and thread policy, decided in one place.

- `auto` picks CUDA, then Apple MPS, then the CPU.
- Precision `auto`: bf16 autocast where the device has *native* bf16 (`native_bf16`, the one
  test every caller uses: a CUDA GPU of compute capability 8.0 or newer, asked of the rank's
  own GPU; a CPU with AVX-512 BF16 / AMX), else fp16 with a GradScaler on CUDA (T4, V100: torch's
  `is_bf16_supported()` counts their *emulated* bf16, which is slow), else fp32; MPS -> fp32.
  Autocast always comes with channels_last memory layout: on an AMX CPU bf16 without
  channels_last was measured 8x slower, with it 2-3.5x faster than fp32. fp32 on the CPU is
  channels_last too: on a 2-core AVX2 CPU that made DCGAN steps 11-15% faster (32 and
  64 px), ACGAN-64 7%, ACGAN-32 the same.
- Threads: a training process takes `threads` (default: `default_threads()`: OMP_NUM_THREADS
  when set, which torchrun sets to 1 per process, else the cores this process may use
  (`cores.available_cores()`: CPU affinity and the container's cgroup CPU quota, which
  `os.cpu_count()` ignores) shared among torchrun's LOCAL_WORLD_SIZE processes); the render
  service takes 1. Two processes that both use every core on a 2-core machine triple render
  latency. On the CPU one process using every core trains fastest: on a 2-core AVX-512 BF16
  machine the automatic preset's Animal-MNIST step (R3GAN 32 px, batch 64) took 68 ms in one
  process of 2 threads, 78.5 ms in two torchrun processes of 1 thread each sharing the batch,
  and in one process whose 2 Python threads each ran half the batch on 1 thread 70-73 ms
  against 70-76 ms for the plain 2-thread step timed beside it (a batch of 32 costs one thread
  69 ms: at these sizes per-op overhead, not arithmetic, sets the pace).
- Timing: CUDA runs kernels asynchronously; whoever reads a clock around GPU work calls
  `synchronize(device)` first (a no-op off CUDA/MPS).
- Deterministic mode (`set_deterministic`, or GAN_STUDIO_DETERMINISTIC=1 for the trainer):
  deterministic algorithms, cuBLAS's fixed workspace, cuDNN without autotuning, so that a
  resumed CUDA run reproduces an uninterrupted one bit for bit (the CPU is deterministic anyway).
- Allocator: a training process keeps the memory it frees (`keep_freed_memory`). glibc's default
  gives the megabytes of each step's activations back to the kernel and faults them in again on
  the next step; keeping them made the ACGAN-32 CPU step ~18% faster here (740 -> 870 img/s).
"""

from __future__ import annotations

import ctypes
import os
import sys
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import torch

from .cores import available_cores
from .errors import ConfigError


@dataclass(frozen=True)
class Policy:
    device: torch.device
    amp_dtype: torch.dtype | None  # None = plain fp32
    channels_last: bool
    use_scaler: bool  # fp16 on CUDA needs loss scaling

    @property
    def precision(self) -> str:
        return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.amp_dtype]

    def autocast(self) -> Any:
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def describe(self) -> str:
        return f"{describe_device(self.device)}, {self.precision}" + (
            ", channels_last" if self.channels_last else "")


def cpu_has_bf16() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def cuda_has_native_bf16(device: torch.device | int | None = None) -> bool:
    """Whether this CUDA GPU computes bf16 natively (compute capability 8.0+, Ampere and newer;
    ROCm GPUs: yes). Asks `device` itself, not the current device, as
    `torch.cuda.is_bf16_supported(including_emulation=False)` would."""
    if torch.version.hip:
        return True
    if not torch.cuda.is_available():
        return False
    major, _ = torch.cuda.get_device_capability(device)
    return major >= 8


def native_bf16(device: torch.device) -> bool:
    """Whether `device` runs bf16 natively: the one rule for training precision, inference
    autocast and the benchmark's peak measurement."""
    if device.type == "cuda":
        return cuda_has_native_bf16(device)
    if device.type == "cpu":
        return cpu_has_bf16()
    return False


def mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def pick_device(name: str = "auto", local_rank: int | None = None) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            name = "cuda"
        elif mps_available():
            name = "mps"
        else:
            name = "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda was asked for, but no CUDA GPU is visible")
        return torch.device("cuda", local_rank if local_rank is not None else torch.cuda.current_device())
    if name == "mps":
        if not mps_available():
            raise ConfigError("--device mps was asked for, but Apple MPS is not available")
        return torch.device("mps")
    if name == "cpu":
        return torch.device("cpu")
    raise ConfigError(f"unknown device {name!r}; choose auto, cpu, cuda or mps")


def resolve_policy(device: str = "auto", precision: str = "auto",
                   local_rank: int | None = None) -> Policy:
    dev = pick_device(device, local_rank)
    if precision == "auto":
        if native_bf16(dev):
            precision = "bf16"
        elif dev.type == "cuda":
            precision = "fp16"
        else:
            precision = "fp32"
    if precision == "fp32":
        return Policy(dev, None, dev.type in ("cuda", "cpu"), False)
    if precision == "bf16":
        if dev.type == "cpu" and not cpu_has_bf16():
            raise ConfigError("bf16 was asked for, but this CPU has no native bf16; use fp32")
        if dev.type == "mps":
            raise ConfigError("bf16 autocast is not supported on MPS here; use fp32")
        return Policy(dev, torch.bfloat16, True, False)
    if precision == "fp16":
        if dev.type != "cuda":
            raise ConfigError("fp16 training needs a CUDA GPU; use bf16 or fp32 on the CPU")
        return Policy(dev, torch.float16, True, True)
    raise ConfigError(f"unknown precision {precision!r}")


def inference_autocast(device: torch.device) -> Any:
    """bf16 autocast for bulk inference (evaluation) where the hardware has native bf16, else a no-op."""
    if native_bf16(device):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()


def synchronize(device: torch.device) -> None:
    """Wait until the device has finished the work queued so far (call before reading a clock)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


DETERMINISTIC_ENV = "GAN_STUDIO_DETERMINISTIC"


def deterministic_requested() -> bool:
    """Whether the environment asks for deterministic mode (GAN_STUDIO_DETERMINISTIC=1)."""
    return os.environ.get(DETERMINISTIC_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def set_deterministic(on: bool = True) -> None:
    """Deterministic GPU kernels, for bit-exact resume on CUDA (a little slower there).

    cuBLAS needs a fixed workspace configured before it is first used in the process: set
    CUBLAS_WORKSPACE_CONFIG=:4096:8 in the environment of the launch to be sure; this sets it
    when the launch did not. An op that has no deterministic kernel raises instead of varying."""
    if on:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(on)
    torch.backends.cudnn.deterministic = on
    torch.backends.cudnn.benchmark = False


def default_threads() -> int:
    """A training process's threads when none are asked for: OMP_NUM_THREADS when the launch set
    it (torchrun sets 1 per process when it starts several), else the available cores shared
    among the LOCAL_WORLD_SIZE processes torchrun started on this machine."""
    try:
        omp = int(os.environ.get("OMP_NUM_THREADS", ""))
    except ValueError:
        omp = 0
    if omp > 0:
        return omp
    try:
        local = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        local = 1
    return max(1, available_cores() // local)


def set_threads(n: int = 0) -> int:
    """Set torch's intra-op threads (0 = `default_threads()`) and return the number in use."""
    torch.set_num_threads(max(1, n or default_threads()))
    return torch.get_num_threads()


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, <malloc.h>


def keep_freed_memory(trim_threshold: int = 1 << 30, mmap_threshold: int = 32 << 20) -> bool:
    """Ask glibc to keep freed memory for reuse instead of returning it to the kernel.

    A training step allocates and frees the same large activation buffers every time. By
    default glibc serves blocks this size with mmap or trims the heap top after each step, so
    every step pays page faults on fresh zeroed pages. With a high trim threshold and blocks up
    to 32 MB served from the heap, the pages stay mapped and the next step reuses them; the
    process's RSS stays at its peak, which a training process reaches every step anyway.
    Returns whether the setting took (False on non-glibc systems, where nothing changes).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # musl or another libc without mallopt
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_TRIM_THRESHOLD, trim_threshold)) and bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold))


def describe_device(dev: torch.device | None = None) -> str:
    dev = dev or pick_device("auto")
    if dev.type == "cuda":
        p = torch.cuda.get_device_properties(dev)
        return f"CUDA {p.name} ({p.total_memory / 2**30:.0f} GiB)"
    if dev.type == "mps":
        return "Apple MPS"
    return f"CPU ({available_cores()} cores{', bf16' if cpu_has_bf16() else ''})"


def device_summary() -> dict[str, Any]:
    """What the app's home page shows: every GPU with its memory, or the CPU."""
    info: dict[str, Any] = {"cpu_cores": available_cores(), "cpu_bf16": cpu_has_bf16(),
                            "cuda": torch.cuda.is_available(), "mps": mps_available(), "gpus": []}
    if info["cuda"]:
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            info["gpus"].append({"index": i, "name": p.name, "memory_gib": round(p.total_memory / 2**30, 1)})
    return info


def rss_bytes() -> int:
    """Resident memory of this process (Linux /proc; falls back to peak RSS elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
