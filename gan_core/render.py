"""The render service: the one object every UI calls to turn latents into pixels.

It loads a checkpoint once, keeps the generator in eval mode with channels_last weights, runs
it under inference mode on a fixed number of threads (1 by default, so it can share a 2-core
machine with a training process), serialises calls with a lock, and returns uint8 (H, W, C)
numpy arrays. In eval mode BatchNorm uses its stored statistics, so an image depends only on
its own latent: the same seed renders the same pixels alone or in a batch (up to one grey
level: batched convolutions may round differently, so images that must match a still exactly,
such as animation frames, are rendered one at a time).

Every image of the explorer is `render_recipe(recipe)` (or `render_recipes` for a batch): the
recipe becomes generator inputs in `gan_core.explore.inputs`, and only here become pixels.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from .checkpoints import load_generator, resolve, weights_hash
from .device import pick_device
from .images import to_uint8
from .explore import Inputs, Recipe, recipe_inputs
from .latent import Directions, blend_embeddings, find_directions, seed_class, truncate, z_from_seed
from .networks import for_inference

BATCH = 32  # images per generator call in `render_recipes` (lets other renders interleave with long jobs)


class RenderService:
    def __init__(self, checkpoint: str | Path, *, device: str = "cpu", threads: int = 1,
                 ema: bool = True, name: str | None = None):
        self.path = resolve(checkpoint)
        if threads > 0 and torch.get_num_threads() != threads:
            torch.set_num_threads(threads)  # process-wide: the renderer's process renders only
        self.device = pick_device(device)
        generator, self.cfg, self.meta = load_generator(self.path, ema=ema, device=self.device)
        # channels_last weights make oneDNN run the convolutions in NHWC: one 64 px face renders in
        # ~6 ms instead of ~12 ms on a 1-thread AVX2 core (digits ~15% faster); same pixels to ~1e-6.
        # for_inference builds the ACGAN's upsampling kernels once instead of on every call.
        self.generator = for_inference(generator.to(memory_format=torch.channels_last))
        self.name = name or self.path.name
        self.weights_hash = weights_hash(self.path, ema=ema)
        self._lock = threading.Lock()
        self._directions: dict[int, Directions] = {}
        self._emb_table: np.ndarray | None = None
        if self.cfg.conditional:
            self._emb_table = self.generator.label_emb.weight.detach().cpu().numpy().astype(np.float32)

    # -- facts -----------------------------------------------------------------------------
    @property
    def info(self) -> dict[str, Any]:
        c = self.cfg
        return {"name": self.name, "arch": c.arch, "image_size": c.image_size, "channels": c.channels,
                "nz": c.nz, "num_classes": c.num_classes, "class_names": list(c.class_names),
                "weights_hash": self.weights_hash, "meta": dict(self.meta)}

    @property
    def conditional(self) -> bool:
        return self.cfg.conditional

    # -- latents ---------------------------------------------------------------------------
    def z(self, seed: int, psi: float = 1.0) -> np.ndarray:
        z = z_from_seed(seed, self.cfg.nz)
        return truncate(z, psi) if psi != 1.0 else z

    def class_embedding(self, class_a: int, class_b: int | None = None, mix: float = 0.0) -> np.ndarray:
        """The generator's embedding of class_a, or a blend towards class_b (ACGAN only)."""
        if self._emb_table is None:
            raise ValueError("this model is unconditional: it has no classes")
        k = self.cfg.num_classes
        for c in (class_a, class_b if class_b is not None else class_a):
            if not 0 <= int(c) < k:
                raise ValueError(f"class index must be between 0 and {k - 1}, got {c}")
        return blend_embeddings(self._emb_table, int(class_a),
                                int(class_b if class_b is not None else class_a), float(mix))

    def directions(self, k: int = 10) -> Directions:
        """Discovered latent directions (computed once per k, ~1 s on a CPU)."""
        if k not in self._directions:
            with self._lock:
                self._directions[k] = find_directions(self.generator, self.cfg.nz, k=k,
                                                      num_classes=self.cfg.num_classes)
        return self._directions[k]

    # -- pixels ----------------------------------------------------------------------------
    def render_z(self, z: np.ndarray, labels: int | Sequence[int] | None = None,
                 class_embedding: np.ndarray | None = None) -> np.ndarray:
        """z (nz,) -> (H, W, C) uint8, or z (B, nz) -> (B, H, W, C) uint8.

        Conditional models take `labels` (an int or one per row) or a `class_embedding`
        ((nz,) or (B, nz)), e.g. from `class_embedding(a, b, mix)`.
        """
        single = z.ndim == 1
        zt = torch.as_tensor(np.atleast_2d(z), dtype=torch.float32, device=self.device)
        if zt.shape[1] != self.cfg.nz:
            raise ValueError(f"latent must have {self.cfg.nz} values, got {zt.shape[1]}")
        b = zt.shape[0]
        lab = emb = None
        if self.conditional:
            if class_embedding is not None:
                emb = torch.as_tensor(np.atleast_2d(class_embedding), dtype=torch.float32,
                                      device=self.device).expand(b, -1)
            elif labels is not None:
                lab = torch.as_tensor(np.broadcast_to(np.asarray(labels, dtype=np.int64), (b,)).copy(),
                                      device=self.device)
                if int(lab.min()) < 0 or int(lab.max()) >= self.cfg.num_classes:
                    raise ValueError(f"class index must be between 0 and {self.cfg.num_classes - 1}")
            else:
                raise ValueError("this model is class-conditional: give a class index")
        elif labels is not None or class_embedding is not None:
            raise ValueError("this model is unconditional: it takes no class")
        with self._lock, torch.inference_mode():
            x = self.generator(zt, lab, emb) if (lab is not None or emb is not None) else self.generator(zt)
            # (B, C, H, W) in [-1, 1] -> (B, H, W, C) uint8
            out = np.ascontiguousarray(to_uint8(x))
        return out[0] if single else out

    def render(self, seed: int, class_index: int = -1, psi: float = 1.0) -> np.ndarray:
        """One image for a seed; class_index -1 means no class (DCGAN) or seed % classes (ACGAN)."""
        if self.conditional and class_index < 0:
            class_index = seed_class(seed, self.cfg.num_classes)
        return self.render_z(self.z(seed, psi), class_index if self.conditional else None)

    def render_seeds(self, seeds: Sequence[int], labels: Sequence[int] | None = None,
                     psi: float = 1.0) -> np.ndarray:
        """(len(seeds), H, W, C) uint8; for ACGAN one label per seed (default: each seed's class)."""
        z = np.stack([self.z(s, psi) for s in seeds])
        if self.conditional and labels is None:
            labels = [seed_class(s, self.cfg.num_classes) for s in seeds]
        return self.render_z(z, labels if self.conditional else None)

    # -- recipes ---------------------------------------------------------------------------
    def inputs(self, recipe: Recipe) -> Inputs:
        """The generator inputs of a recipe for this model (RecipeError for classes it lacks)."""
        return recipe_inputs(recipe, self.cfg.nz, self.cfg.num_classes if self.conditional else 0,
                             self.directions)

    def render_recipe(self, recipe: Recipe) -> np.ndarray:
        """(H, W, C) uint8: the one image a recipe names (the same pixels in every process)."""
        return self.render_recipes([recipe], batch=1)[0]

    def render_recipes(self, recipes: Sequence[Recipe], batch: int = BATCH) -> np.ndarray:
        """(N, H, W, C) uint8 for N recipes, `batch` per generator call.

        batch=1 renders each image alone, exactly as `render_recipe` (animation frames); larger
        batches are faster for grids and strips but may differ from a lone render by one level.
        """
        if batch < 1:
            raise ValueError("batch must be at least 1")
        inputs = [self.inputs(r) for r in recipes]
        if not inputs:
            raise ValueError("no recipes to render")
        return np.concatenate([self._render_inputs(inputs[i:i + batch]) for i in range(0, len(inputs), batch)])

    def _render_inputs(self, part: Sequence[Inputs]) -> np.ndarray:
        """(B, H, W, C) uint8 for B inputs: plain labels, or class embeddings for every row if any row blends."""
        z = np.stack([x.z for x in part])  # (B, nz)
        if not self.conditional:
            return self.render_z(z)
        if all(x.blend is None for x in part):
            return self.render_z(z, [x.label for x in part])
        emb = np.stack([self.class_embedding(*x.blend) if x.blend is not None else self.class_embedding(x.label)
                        for x in part])  # (B, nz)
        return self.render_z(z, class_embedding=emb)
