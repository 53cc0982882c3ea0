"""Shuffled training batches served straight from decoded uint8 images.

No DataLoader workers and no per-epoch decoding: the images live in one uint8 tensor
(N, H, W, C) (on the GPU when it fits), each batch is an index gather plus a conversion to
[-1, 1]. A CUDA dataset too large for the GPU stays in host memory, and each batch is gathered
straight into pinned (page-locked) memory, so its copy to the GPU is asynchronous (`placement`). The order is a pure function of (seed, epoch), so resuming at (epoch, position)
replays exactly the batches an uninterrupted run would have seen. Under DDP each rank takes
every world-th index of the same permutation (a disjoint shard).

`next(gen, group=p)` serves a batch whose runs of p images share a class, for a discriminator
that judges groups of one class (`gan_core.packing`): the drawn images grouped by class, a class's
last group filled up with random images of that class, and B/p groups kept at random.
"""

from __future__ import annotations

import numpy as np
import torch

from .errors import DatasetError
from .images import from_uint8
from .packing import class_groups

GPU_RESIDENT_LIMIT = 4 * 2**30  # keep datasets up to 4 GiB on the GPU itself


def placement(device: torch.device, nbytes: int, resident_limit: int = GPU_RESIDENT_LIMIT) -> str:
    """Where the decoded images live: "device" (on the GPU itself), "pinned" (host memory,
    each batch gathered into pinned memory and copied asynchronously) or "host" (CPU training)."""
    if device.type == "cuda":
        return "device" if nbytes <= resident_limit else "pinned"
    return "host"


class BatchSource:
    def __init__(self, images: np.ndarray, labels: np.ndarray, batch_size: int, *, seed: int,
                 device: torch.device, hflip: bool = False, channels_last: bool = False,
                 rank: int = 0, world: int = 1, resident_limit: int = GPU_RESIDENT_LIMIT):
        n = len(images)
        self.batch_size, self.seed, self.device = batch_size, seed, device
        self.hflip, self.channels_last, self.rank, self.world = hflip, channels_last, rank, world
        self.num_images = n
        self.batches_per_epoch = (n // world) // batch_size
        if self.batches_per_epoch == 0:
            raise DatasetError(
                f"the dataset has {n} images, fewer than one batch of {batch_size}"
                + (f" per process ({world} processes)" if world > 1 else "")
                + "; lower --batch-size")
        images_t = torch.from_numpy(np.ascontiguousarray(images))  # (N, H, W, C) uint8
        labels_t = torch.from_numpy(np.asarray(labels, dtype=np.int64))
        self._labels_host = labels_t  # (grouping by class reads them on the host)
        self.placement = placement(device, images_t.numel(), resident_limit)
        if self.placement == "device":
            images_t = images_t.to(device)
        if device.type == "cuda":  # labels are small: always on the GPU
            labels_t = labels_t.to(device)
        self.images, self.labels = images_t, labels_t
        self._by_class: dict[int, torch.Tensor] | None = None  # each class's dataset indices (for `group`)
        self.epoch, self.pos = 0, 0
        self._perm_epoch, self._perm = -1, torch.empty(0, dtype=torch.long)

    def _permutation(self) -> torch.Tensor:
        if self._perm_epoch != self.epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            self._perm = torch.randperm(self.num_images, generator=g)[self.rank::self.world]
            self._perm_epoch = self.epoch
        return self._perm

    def next(self, gen: torch.Generator, group: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """The next batch: images (B, C, H, W) float in [-1, 1] on the device, labels (B,); with
        `group` p > 1, images p*i .. p*i+p-1 share a class (module docstring)."""
        if self.pos >= self.batches_per_epoch:
            self.epoch, self.pos = self.epoch + 1, 0
        idx = self._permutation()[self.pos * self.batch_size:(self.pos + 1) * self.batch_size]
        self.pos += 1
        if group > 1:
            idx = self._grouped(idx, group, gen)
        flip = torch.rand(len(idx), generator=gen) < 0.5 if self.hflip else None
        if self.placement == "pinned":
            x = self._gather_pinned(idx).to(self.device, non_blocking=True)
        else:
            x = self.images[idx.to(self.images.device)]  # (B, H, W, C) uint8
        y = self.labels[idx.to(self.labels.device)]
        x = x.permute(0, 3, 1, 2)  # (B, C, H, W), stored channels_last
        if not self.channels_last:
            x = x.contiguous()
        x = from_uint8(x)
        if flip is not None:
            f = flip.to(self.device)[:, None, None, None]
            x = torch.where(f, x.flip(3), x)
        return x, y

    def _grouped(self, idx: torch.Tensor, p: int, gen: torch.Generator) -> torch.Tensor:
        """Dataset indices (B,) -> (B,) in B/p groups of one class each (`packing.class_groups`)."""
        if len(idx) % p:
            raise ValueError(f"a batch of {len(idx)} images cannot be cut into groups of {p}")
        if self._by_class is None:
            labels = self._labels_host
            self._by_class = {int(c): torch.nonzero(labels == c).flatten() for c in torch.unique(labels)}

        def more(c: int, n: int) -> torch.Tensor:
            pool = self._by_class[c]
            return pool[torch.randint(len(pool), (n,), generator=gen)]

        groups = class_groups(idx, self._labels_host[idx], p, more)  # (G, p), G >= B/p
        keep = torch.randperm(len(groups), generator=gen)[: len(idx) // p]
        return groups[keep].flatten()

    def _gather_pinned(self, idx: torch.Tensor) -> torch.Tensor:
        """The batch's images (B, H, W, C) gathered into fresh pinned host memory (torch's pinned
        allocator caches these blocks and reuses one only after its copy has completed)."""
        out = torch.empty((len(idx), *self.images.shape[1:]), dtype=self.images.dtype, pin_memory=True)
        return torch.index_select(self.images, 0, idx, out=out)

    @property
    def epoch_progress(self) -> float:
        """Epochs completed, as a fraction (2.5 = halfway through the third epoch)."""
        return self.epoch + self.pos / self.batches_per_epoch

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "pos": self.pos}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.pos = int(state["epoch"]), int(state["pos"])
