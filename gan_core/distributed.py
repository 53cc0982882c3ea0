"""torchrun / DistributedDataParallel plumbing: one process per device, gloo on CPU, NCCL on GPU.

- BatchNorm under DDP (`sync_batchnorm_plan`, the one place this is decided): on CUDA the
  generator's BatchNorm becomes SyncBatchNorm (statistics over the global batch). The
  discriminator's does too, unless D is trained with a gradient penalty (R1 or WGAN-GP): those
  take `autograd.grad(create_graph=True)` through D, and SyncBatchNorm's backward has no second
  derivative, so such a D keeps per-rank BatchNorm (each rank normalises its own share of the
  batch, as a single GPU would with that batch). SyncBatchNorm runs on CUDA only; gloo/CPU runs
  keep per-rank BatchNorm everywhere.
- Stop requests (`stop_check_due`): agreeing on a stop is an all-reduce plus a device->host
  read, which stalls a GPU's queue; under DDP the ranks agree every STOP_CHECK_EVERY steps and
  at every logging step and the last step, so a stop takes effect within that many steps. A
  single process checks its own flag every step (free).
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel as DDP

STOP_CHECK_EVERY = 10


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def from_env() -> DistInfo:
    """The process's place in a torchrun launch (RANK, WORLD_SIZE, LOCAL_RANK), or a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    return DistInfo(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))


def init(info: DistInfo, device_type: str) -> None:
    if info.enabled and not dist.is_initialized():
        if device_type == "cuda":
            torch.cuda.set_device(info.local_rank)
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo")


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def all_mean(t: torch.Tensor, info: DistInfo) -> torch.Tensor:
    if info.enabled:
        t = t.clone()
        dist.all_reduce(t)
        t /= info.world
    return t


def sync_batchnorm_plan(device: torch.device, penalised_d: bool) -> tuple[bool, bool]:
    """Whether (G, D) get SyncBatchNorm under DDP on `device`; see the module notes."""
    cuda = device.type == "cuda"
    return cuda, cuda and not penalised_d


def wrap(module: nn.Module, device: torch.device, sync_bn: bool) -> nn.Module:
    """`module` under DDP, its BatchNorm layers synchronised across ranks when `sync_bn`.

    The discriminator runs twice (real, fake) before one backward; syncing BatchNorm buffers
    inside the second forward would modify tensors autograd saved, so buffers sync only at
    construction."""
    if sync_bn:
        module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
    ids = [device.index] if device.type == "cuda" else None
    no_buffer_sync = ({"forward_sync_buffers": False}
                      if "forward_sync_buffers" in inspect.signature(DDP.__init__).parameters
                      else {"broadcast_buffers": False})  # torch before forward_sync_buffers
    return DDP(module, device_ids=ids, **no_buffer_sync)


def stop_check_due(step: int, info: DistInfo, log_due: bool, last: bool) -> bool:
    """Whether the ranks agree on a stop request after this step; see the module notes."""
    return not info.enabled or log_due or last or step % STOP_CHECK_EVERY == 0


def any_flag(flag: bool, info: DistInfo, device: torch.device) -> bool:
    """True on every rank if it is True on any rank (used for stop requests)."""
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()
