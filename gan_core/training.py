"""The Trainer: one correct GAN update per step, an EMA generator, hooks, checkpoints, exact resume.

Each step: (1) update D `n_critic` times on a real batch and a detached fake batch; (2) update
G once through the freshly updated D. Losses take logits. The caller decides when to stop
(`request_stop()`), and hooks (`on_step`, `on_sample`, `on_checkpoint`) let an application
react without the trainer knowing about it.

fp16 (CUDA GPUs without native bf16) trains with one GradScaler per optimiser, each stepped and
updated after its own optimiser's step, so any number of D updates per G update works; the
gradient penalties follow PyTorch's AMP recipe (see `losses`). A D pass whose loss overflowed
is skipped by its scaler and left out of the logged means.

Timing: on CUDA a step returns before its kernels finish, so the loop reads the clock only
after `device.synchronize` at the steps where other work (metrics, samples, checkpoints,
evaluation) follows, never every step: `img_per_s` and `train_seconds` are the time of the
training steps themselves, and a GPU's queue stays full in between.
"""

from __future__ import annotations

import copy
import math
import os
import random
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn as nn

from . import distributed as distmod
from .ada import AdaController
from .augment import diff_augment
from .batches import BatchSource
from .checkpoints import copy_checkpoint, load_generator, load_training_state, load_weights, resolve, save_checkpoint
from .checkpoints import DISCRIMINATOR, GENERATOR, GENERATOR_EMA
from .config import DIFFAUG_OPS, RunConfig
from .device import Policy, deterministic_requested, resolve_policy, rss_bytes, set_deterministic, synchronize
from .errors import CheckpointError, ConfigError, TrainingError
from .images import from_uint8, grid_layout, make_grid, save_png, to_uint8
from .latent import z_batch
from .losses import (RELATIVISTIC, aux_loss, d_loss, d_output_mean, g_loss, gradient_penalty, mode_seeking,
                     r1_penalty, r2_penalty)
from .networks import build_discriminator, build_generator
from .packing import class_groups, group_labels, pack, share_class
from .runs import RunDir
from .schedule import PLATEAU_GAIN, PLATEAU_NEAR, lr_factor, stalled
from .spread import mean_pdist, within_class_share

HOOKS = ("on_step", "on_sample", "on_checkpoint")
# an evaluator returns extra metrics for the inference generator; "eval_fd" (lower is better)
# picks the best checkpoint
Evaluator = Callable[[nn.Module], dict[str, float]]


def _unwrap(m: nn.Module) -> nn.Module:
    return getattr(m, "module", m)


def fixed_latents(cfg: RunConfig) -> tuple[np.ndarray, np.ndarray | None, int]:
    """The progress grid's latents: seeds laid out by `images.grid_layout` (so the panel can
    reproduce any cell). Returns (z, labels or None, images per row)."""
    mc = cfg.model
    seeds, labels, cols = grid_layout(mc.num_classes)
    return z_batch(seeds, mc.nz), (np.asarray(labels, dtype=np.int64) if labels is not None else None), cols


@torch.no_grad()
def recalibrate_batchnorm(g: nn.Module, nz: int, num_classes: int, device: torch.device,
                          batches: int = 8, batch_size: int = 64, seed: int = 1234) -> nn.Module:
    """Re-estimate BatchNorm statistics of `g` for its own weights (used for the EMA copy,
    whose weights never produced the running statistics it inherited). Uses a private RNG."""
    bns = [m for m in g.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return g.eval()
    gen = torch.Generator().manual_seed(seed)
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batches
    g.train()
    for _ in range(batches):
        z = torch.randn(batch_size, nz, generator=gen).to(device)
        labels = torch.randint(0, num_classes, (batch_size,), generator=gen).to(device) if num_classes else None
        g(z, labels) if labels is not None else g(z)
    for m in bns:
        m.momentum = 0.1
    return g.eval()


class Trainer:
    def __init__(self, cfg: RunConfig, images: np.ndarray, labels: np.ndarray, run: RunDir | None = None, *,
                 policy: Policy | None = None, evaluator: Evaluator | None = None,
                 dist: distmod.DistInfo | None = None, deterministic: bool | None = None):
        """`deterministic`: deterministic CUDA kernels for bit-exact resume on a GPU (None: the
        GAN_STUDIO_DETERMINISTIC environment variable decides; see `device.set_deterministic`)."""
        self.cfg = cfg
        mc, tc = cfg.model, cfg.train
        self.dist = dist or distmod.DistInfo()
        self.policy = policy or resolve_policy(tc.device, tc.precision,
                                               self.dist.local_rank if self.dist.enabled else None)
        self.device = self.policy.device
        self.run_dir = run if self.dist.is_main else None
        self.evaluator = evaluator
        self.loss_kind = tc.loss
        self.aug_ops = tc.diffaug_ops
        # adaptive augmentation: the ops (all of them when none are named) each with probability p
        self.ada = AdaController(tc.ada_target) if tc.ada_target > 0 else None
        if self.ada is not None and not self.aug_ops:
            self.aug_ops = list(DIFFAUG_OPS)
        if deterministic if deterministic is not None else deterministic_requested():
            set_deterministic(True)

        # every random draw of the trainer (z, fake labels, flips, augmentation, GP) comes from
        # self.gen; dropout uses torch's global RNG. Both are saved for exact resume.
        torch.manual_seed(tc.seed + self.dist.rank)
        np.random.seed(tc.seed + self.dist.rank)
        random.seed(tc.seed + self.dist.rank)
        self.gen = torch.Generator().manual_seed(tc.seed * 7919 + 17 + self.dist.rank)

        # The networks run eagerly: torch.compile (inductor, CPU) made the 32 px R3GAN step slower,
        # 120 against 82 ms in bf16 and 185 against 120 ms in fp32 (2 threads, Animal-MNIST's preset,
        # the penalties' double backward left eager), after 40 to 70 s of compiling.
        mf = torch.channels_last if self.policy.channels_last else torch.contiguous_format
        self.G = build_generator(mc).to(self.device, memory_format=mf)
        self.D = build_discriminator(mc).to(self.device, memory_format=mf)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        # a projection discriminator (r3gan) reads the labels of the images it judges
        self.d_labels = mc.conditional and getattr(self.D, "takes_labels", False)
        if self.dist.enabled:
            distmod.init(self.dist, self.device.type)
            # penalties differentiate D twice, which SyncBatchNorm cannot (see distributed)
            sync_g, sync_d = distmod.sync_batchnorm_plan(self.device, self.penalised_d)
            self.G = distmod.wrap(self.G, self.device, sync_g)
            self.D = distmod.wrap(self.D, self.device, sync_d)

        betas = (tc.beta1, tc.beta2)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=tc.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=tc.lr_d, betas=betas)
        # one loss scaler per optimiser: D steps n_critic times per G step, and a GradScaler
        # allows one step() per optimiser between update()s
        scaler = (lambda: torch.amp.GradScaler(self.device.type)) if self.policy.use_scaler else (lambda: None)
        self.scaler_d, self.scaler_g = scaler(), scaler()

        per_rank_batch = tc.batch_size // self.dist.world if self.dist.enabled else tc.batch_size
        self.batches = BatchSource(images, labels, per_rank_batch, seed=tc.seed, device=self.device,
                                   hflip=cfg.data.hflip, channels_last=self.policy.channels_last,
                                   rank=self.dist.rank, world=self.dist.world)
        self.batch_size = per_rank_batch
        self.pack = mc.d_pack  # D judges groups of this many images (gan_core.packing)
        if per_rank_batch % self.pack:
            raise ConfigError(f"each process's batch of {per_rank_batch} cannot be cut into D's groups of "
                              f"{self.pack} (model.d_pack): choose a batch it divides", field="train.batch_size")
        self.step = 0
        self.total_steps = tc.steps  # the end of the run the lr schedule reads (`run` sets it)
        # the time budget's share used so far, 0..1 (set by the caller that keeps the budget, train.TimeBudget)
        self.time_progress: Callable[[], float] | None = None
        self.decay_from: float | None = None  # with lr_decay_plateau: the progress where the rates began to fall
        self.elapsed = 0.0  # training seconds, summed over resumes
        self.best_score = math.inf
        self._decay_judged = -1  # the last of the decay's stretches judged (`decay_judgement_due`)
        self.hooks: dict[str, list[Callable[..., Any]]] = {h: [] for h in HOOKS}
        self._stop = False
        self._pending_health: dict[str, float] = {}
        self._inference: tuple[int, nn.Module] | None = None
        self.guard: Any = None  # a gan_core.guard.Guard, set by the caller: checks each logged row
        fz, fl, self.grid_cols = fixed_latents(cfg)
        self.fixed_z = torch.from_numpy(fz).to(self.device)
        self.fixed_labels = torch.from_numpy(fl).to(self.device) if fl is not None else None
        every = max(1, len(images) // 512)  # the real probe: up to 512 images spread over the set
        self.real_probe = torch.from_numpy(np.ascontiguousarray(images[::every][:512])).float().flatten(1) / 255.0
        self.probe_labels = (torch.from_numpy(np.asarray(labels[::every][:512], dtype=np.int64))
                             if mc.conditional and len(labels) == len(images) else None)
        self._real_spread: tuple[float, float | None] | None = None  # (overall, within-class ratio) of the probe

    # -- public controls -------------------------------------------------------------------
    def add_hook(self, name: str, fn: Callable[..., Any]) -> None:
        if name not in self.hooks:
            raise ValueError(f"unknown hook {name!r}; choose from {', '.join(HOOKS)}")
        self.hooks[name].append(fn)

    def request_stop(self) -> None:
        """Ask the loop to stop after the current step (safe to call from a signal handler)."""
        self._stop = True

    @property
    def penalised_d(self) -> bool:
        """Whether D's loss differentiates D with respect to its input (WGAN-GP, R1 or R2)."""
        tc = self.cfg.train
        return self.loss_kind == "wgan-gp" or tc.r1_gamma > 0.0 or tc.r2_gamma > 0.0

    # -- one update ------------------------------------------------------------------------
    def _critic(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """D's adversarial logits under the policy's autocast (what the penalties differentiate)."""
        with self.policy.autocast():
            return self._d(self.D, x, labels)[0]

    def _critic_for(self, labels: torch.Tensor | None) -> Callable[[torch.Tensor], torch.Tensor]:
        return lambda x: self._critic(x, labels)

    def _d(self, d: nn.Module, x: torch.Tensor, labels: torch.Tensor | None) -> tuple[torch.Tensor, Any]:
        """D's (logits, class logits) for images (B, C, S, S): one per image, or with `model.d_pack` p
        one per group of p consecutive images, (B/p,) and (B/p, K); a projection D also gets the labels."""
        if self.pack > 1:
            x, labels = pack(x, self.pack, self.policy.channels_last), group_labels(labels, self.pack)
        return d(x, labels) if self.d_labels else d(x)

    def _penalty_scale(self) -> torch.Tensor | None:
        """D's current loss scale as a device tensor (no host sync), or None without a scaler."""
        if self.scaler_d is None:
            return None
        return self.scaler_d.scale(torch.ones((), device=self.device))

    def _aug(self, x: torch.Tensor) -> torch.Tensor:
        if not self.aug_ops:
            return x
        return diff_augment(x, self.aug_ops, self.gen, p=self.ada.p if self.ada is not None else None)

    def progress(self) -> float:
        """How far the run is, 0..1 (more past its end): the larger of its steps' share and, with a
        time budget, the budget's share."""
        share = self.step / max(1, self.total_steps)
        return max(share, self.time_progress()) if self.time_progress is not None else share

    def decay_start(self) -> float | None:
        """The progress where the rates begin to fall: the last `lr_decay` share of the run; with
        `lr_decay_plateau`, not before the judge found a plateau (`watch_plateau`), or the last
        `lr_decay_last` share when that comes first; None = never."""
        tc = self.cfg.train
        if tc.lr_decay <= 0.0:
            return None
        if not tc.lr_decay_plateau:
            return 1.0 - tc.lr_decay
        last = tc.lr_decay_last_share
        starts = [s for s in (self.decay_from, 1.0 - last if last > 0 else None) if s is not None]
        return min(starts) if starts else None

    def _decaying(self) -> bool:
        start = self.decay_start()
        return start is not None and self.progress() >= start

    def decay_judgement_due(self) -> bool:
        """With `train.eval_decay` N: whether the run has just entered the next of N equal stretches of
        its learning-rate decay (the first at the decay's start), each judged once, so that `best` is
        picked from N checkpoints spread over the decay as well as every `eval_every` steps."""
        n, start = self.cfg.train.eval_decay, self.decay_start()
        if n <= 0 or start is None or start >= 1.0:
            return False
        done = self.progress() - start
        if done < 0.0:
            return False
        k = min(n, int(done / (1.0 - start) * n))
        if k <= self._decay_judged:
            return False
        self._decay_judged = k
        return True

    def watch_plateau(self, fd: float, ratio: float | None = None) -> dict[str, Any] | None:
        """With `lr_decay_plateau`, read a judged FD (before it updates the best) and its ratio to the
        real-vs-real baseline when the judgement has one: at the first FD that is not `PLATEAU_GAIN`
        below the best so far, within `PLATEAU_NEAR` x the baseline (`schedule.stalled`), the decay
        starts (here, or at the last `lr_decay` share of the run if that is later). Returns the
        event to record then, else None."""
        tc = self.cfg.train
        if tc.lr_decay <= 0.0 or not tc.lr_decay_plateau or self.decay_from is not None or not math.isfinite(fd):
            return None  # (an evaluation without an FD is no evidence of a plateau)
        if self._decaying():  # the last lr_decay_last share: falling already, no plateau to wait for
            return None
        if not stalled(fd, self.best_score, ratio):
            return None
        self.decay_from = max(self.progress(), 1.0 - tc.lr_decay)
        return {"step": self.step, "kind": "lr_decay", "action": "lr decay",
                "text": f"FD stalled: the learning rates fall to {tc.lr_final:g}x from {self.decay_from:.0%} of "
                        "the run to its end",
                "evidence": {"judged FD": round(fd, 4), f"best so far (needed {PLATEAU_GAIN:.0%} below)":
                             round(self.best_score, 4)}
                | ({f"judged FD / real-vs-real baseline (at most {PLATEAU_NEAR:g})": round(ratio, 2)}
                   if ratio is not None else {})}

    def schedule_lr(self) -> float:
        """Set both optimisers' learning rates for this step from the config's rates and the schedule
        (`schedule.lr_factor`, `train.lr_decay`); returns the multiplier. The config's rates are the
        base, so a guard remedy that changes them keeps its effect."""
        tc = self.cfg.train
        factor = lr_factor(self.progress(), self.decay_start(), tc.lr_final)
        for opt, lr in ((self.opt_g, tc.lr_g), (self.opt_d, tc.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr * factor
        return factor

    @property
    def pairs(self) -> bool:
        """Whether the mode-seeking term is on: it compares fakes in pairs (2k, 2k+1) of one class
        (read from the config at each step, so a remedy that turns it on takes effect at once)."""
        return self.cfg.train.mode_seeking > 0.0 and self.batch_size >= 2

    def _sample_z(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        b, mc = self.batch_size, self.cfg.model
        z = torch.randn(b, mc.nz, generator=self.gen).to(self.device, non_blocking=True)
        y = (torch.randint(0, mc.num_classes, (b,), generator=self.gen).to(self.device, non_blocking=True)
             if mc.conditional else None)
        if y is not None and (self.pack > 1 or self.pairs):
            # D's groups share a class; so do the mode-seeking term's pairs (2k, 2k+1), inside them
            share_class(y, max(self.pack, 2 if self.pairs else 1))
        return z, y

    @staticmethod
    def _backward_step(loss: torch.Tensor, opt: torch.optim.Optimizer,
                       scaler: torch.amp.GradScaler | None) -> None:
        opt.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(opt)  # skipped when the scaled gradients overflowed
            scaler.update()
        else:
            loss.backward()
            opt.step()

    def train_step(self) -> dict[str, torch.Tensor]:
        """One full update (D n_critic times, then G). Returns detached scalar tensors."""
        tc, cond = self.cfg.train, self.cfg.model.conditional
        self.G.train()
        self.D.train()
        ac = self.policy.autocast
        stats: dict[str, torch.Tensor] = {}
        if tc.lr_decay > 0.0:  # off, the optimisers keep their rates untouched
            stats["lr_scale"] = torch.tensor(self.schedule_lr(), device=self.device)
        # (1) Update D: maximise log D(x) + log(1 - D(G(z))) (or the chosen loss)
        for i in range(tc.n_critic):
            real, real_y = self.batches.next(self.gen, self.pack if cond else 1)  # (groups of one class)
            z, fake_y = self._sample_z()
            last = i == tc.n_critic - 1
            with ac():
                if last:  # keep G's graph: the G update below reuses this batch
                    fake = self.G(z, fake_y) if cond else self.G(z)
                else:
                    with torch.no_grad():
                        fake = self.G(z, fake_y) if cond else self.G(z)
                real_aug = self._aug(real)
                out_real, cls_real = self._d(self.D, real_aug, real_y)
                out_fake, cls_fake = self._d(self.D, self._aug(fake.detach()), fake_y)
            loss = d_loss(self.loss_kind, out_real, out_fake, tc.label_smoothing)
            if self.ada is not None:  # the overfitting heuristic (see gan_core.ada)
                rel = self.loss_kind in RELATIVISTIC
                self.ada.observe(torch.sign((out_real - out_fake) if rel else out_real).detach())
            if cond:
                aux = aux_loss(cls_real, group_labels(real_y, self.pack))
                if tc.aux_on_fake:
                    aux = 0.5 * (aux + aux_loss(cls_fake, group_labels(fake_y, self.pack)))
                loss = loss + tc.aux_weight * aux
            if self.loss_kind == "wgan-gp":
                gp = gradient_penalty(self._critic, self._aug(real), self._aug(fake), self.gen,
                                      scale=self._penalty_scale())
                stats["gp"] = gp.detach()
                loss = loss + tc.gp_weight * gp
            lazy_due = (self.step * tc.n_critic + i) % tc.r1_every == 0
            if tc.r1_gamma > 0.0 and lazy_due:
                r1 = r1_penalty(self._critic_for(real_y), self._aug(real), scale=self._penalty_scale())
                stats["r1"] = r1.detach()
                loss = loss + 0.5 * tc.r1_gamma * tc.r1_every * r1
            if tc.r2_gamma > 0.0 and lazy_due:  # zero-centred on the fakes, on R1's lazy schedule
                r2 = r2_penalty(self._critic_for(fake_y), self._aug(fake.detach()), scale=self._penalty_scale())
                stats["r2"] = r2.detach()
                loss = loss + 0.5 * tc.r2_gamma * tc.r1_every * r2
            self._backward_step(loss, self.opt_d, self.scaler_d)
            if self.ada is not None:
                self.ada.maybe_adjust(self.batch_size * self.dist.world)
        stats["loss_d"] = loss.detach()
        stats["d_real"] = d_output_mean(self.loss_kind, out_real)
        if cond:
            stats["acc_real"] = (cls_real.detach().argmax(1) == group_labels(real_y, self.pack)).float().mean()
            stats["acc_fake"] = (cls_fake.detach().argmax(1) == group_labels(fake_y, self.pack)).float().mean()

        # (2) Update G: maximise log D(G(z)) through the updated D. D's weights need no
        # gradients here; calling the unwrapped D keeps DDP from expecting them.
        d_plain = _unwrap(self.D)
        d_plain.requires_grad_(False)
        with ac():
            out_gen, cls_gen = self._d(d_plain, self._aug(fake), fake_y)
        # a relativistic G loss pairs each fake with the real image D judged beside it; D's logits
        # from its own update are reused (constants for G), which saves a D pass per step
        loss_g = g_loss(self.loss_kind, out_gen, out_real.detach() if self.loss_kind in RELATIVISTIC else None)
        if cond and tc.aux_in_g:
            loss_g = loss_g + tc.aux_weight * aux_loss(cls_gen, group_labels(fake_y, self.pack))
        if self.pairs:  # fakes (2k, 2k+1) share a class: reward G for drawing them differently
            ms = mode_seeking(fake, z)
            stats["mode_seeking"] = ms.detach()
            loss_g = loss_g + tc.mode_seeking * ms
        self._backward_step(loss_g, self.opt_g, self.scaler_g)
        d_plain.requires_grad_(True)
        self._update_ema()
        stats["loss_g"] = loss_g.detach()
        # D(G(z)) before G's update, as the tutorial reports it
        stats["d_fake"] = d_output_mean(self.loss_kind, out_fake)
        if self.ada is not None:
            stats["ada_p"] = torch.tensor(self.ada.p, device=self.device)
        self.step += 1
        self._inference = None
        return stats

    @torch.no_grad()
    def _update_ema(self) -> None:
        g = _unwrap(self.G)
        decay = self.ema_decay()
        # warm-up: average over the steps so far while they are fewer than 1/(1-decay)
        decay = min(decay, (1.0 + self.step) / (10.0 + self.step)) if decay > 0 else 0.0
        ema_p = list(self.G_ema.parameters())
        g_p = [p.detach() for p in g.parameters()]
        if decay == 0.0:
            torch._foreach_copy_(ema_p, g_p)
        else:
            torch._foreach_lerp_(ema_p, g_p, 1.0 - decay)
        for b_ema, b in zip(self.G_ema.buffers(), g.buffers()):
            b_ema.copy_(b)

    def ema_decay(self) -> float:
        """The EMA's decay per step: train.ema, or from a half-life in images (ema_halflife_kimg):
        0.5 ** (images per step / half-life), so the weight of an old G halves every h*1000 images."""
        tc = self.cfg.train
        if tc.ema_halflife_kimg > 0:
            return 0.5 ** (tc.batch_size / (tc.ema_halflife_kimg * 1000.0))
        return tc.ema

    # -- inference copy, samples and health ------------------------------------------------
    def inference_generator(self) -> nn.Module:
        """The EMA generator with BatchNorm statistics recalibrated for its own weights (cached per step)."""
        if self._inference is None or self._inference[0] != self.step:
            g = copy.deepcopy(self.G_ema)
            mc = self.cfg.model
            recalibrate_batchnorm(g, mc.nz, mc.num_classes, self.device)
            self._inference = (self.step, g)
        return self._inference[1]

    @torch.no_grad()
    def sample_images(self) -> np.ndarray:
        """The fixed-latent grid's images (N, H, W, C) uint8 from the inference generator."""
        g = self.inference_generator()
        x = g(self.fixed_z, self.fixed_labels) if self.fixed_labels is not None else g(self.fixed_z)
        return to_uint8(x)

    def real_spread(self) -> tuple[float, float | None]:
        """The real probe's (mean pairwise distance, within-class share): the units `health` reads
        the samples in. The share is None without probe labels or when no class has two probe
        images (classes of one picture: one picture per class is then what the data holds)."""
        if self._real_spread is None:
            real = self.real_probe
            share = within_class_share(real, self.probe_labels) if self.probe_labels is not None else None
            self._real_spread = (max(mean_pdist(real[:len(self.fixed_z)]), 1e-8), share)
        return self._real_spread

    @torch.no_grad()
    def health(self, images: np.ndarray) -> dict[str, float]:
        """Cheap signs of trouble, computed on the fixed-latent samples.

        diversity: mean pairwise distance of samples / the same for real images (~1 is healthy,
        near 0 means collapse); class_diversity (conditional models): the samples' within-class
        share of their spread (`within_class_share`) over the same share of real images: ~1 is
        healthy, towards 0 the generator ignores z and draws about one picture per class (such a
        model keeps a high `diversity`, since the classes differ); nn_real: mean distance of a
        sample to its nearest real probe image (falling towards 0 means memorising);
        class_agreement (conditional): how often D's class scores read the requested class.
        """
        x = torch.from_numpy(images).float().flatten(1) / 255.0
        unit, real_share = self.real_spread()
        out = {"diversity": mean_pdist(x) / unit,
               "nn_real": float(torch.cdist(x, self.real_probe).min(1).values.mean()
                                / math.sqrt(x.shape[1]))}
        if self.fixed_labels is not None:
            share = within_class_share(x, self.fixed_labels.cpu())
            if share is not None and real_share:
                out["class_diversity"] = share / real_share
            d = _unwrap(self.D)
            was = d.training
            d.eval()
            xs = from_uint8(torch.from_numpy(images).permute(0, 3, 1, 2)).to(self.device)
            labels = self.fixed_labels
            if self.pack > 1:  # D reads groups of one class: the grid's samples grouped by requested class
                order = self._class_grouped(labels)
                xs, labels = xs[order], labels[order]
            _, cls = self._d(d, xs, labels)
            d.train(was)
            out["class_agreement"] = float((cls.argmax(1) == group_labels(labels, self.pack)).float().mean())
        return out

    def _class_grouped(self, labels: torch.Tensor) -> torch.Tensor:
        """Positions of these labels (B,) in groups of `pack` of one class, flattened (G * pack,); a
        class's last group repeats its own first positions."""
        pos = torch.arange(len(labels))
        host = labels.cpu()
        return class_groups(pos, host, self.pack, lambda c, n: pos[host == c].repeat(n)[:n]).flatten().to(labels.device)

    def save_samples(self) -> Path | None:
        if self.run_dir is None:
            return None
        images = self.sample_images()
        self._pending_health = self.health(images)
        path = save_png(make_grid(images, nrow=self.grid_cols), self.run_dir.sample_path(self.step),
                        {"step": str(self.step)})
        for fn in self.hooks["on_sample"]:
            fn(self, self.step, path)
        return path

    # -- checkpoints -----------------------------------------------------------------------
    def training_state(self) -> dict[str, Any]:
        rng: dict[str, Any] = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
                               "python": random.getstate(), "trainer": self.gen.get_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return {"step": self.step, "elapsed": self.elapsed, "best_score": self.best_score,
                "decay_from": self.decay_from, "batches": self.batches.state_dict(), "opt_g": self.opt_g.state_dict(),
                "opt_d": self.opt_d.state_dict(),
                "scaler": ({"d": self.scaler_d.state_dict(), "g": self.scaler_g.state_dict()}
                           if self.scaler_d is not None and self.scaler_g is not None else None),
                "rng": rng, **({"ada": self.ada.state_dict()} if self.ada is not None else {})}

    def save_checkpoint(self, which: str = "latest", metrics: dict[str, Any] | None = None) -> Path | None:
        if self.run_dir is None:
            return None
        meta = {"step": self.step, "run": self.run_dir.name, "dataset": self.cfg.data.source,
                "loss": self.loss_kind, "train_seconds": round(self.elapsed, 1),
                "metrics": metrics or {}}
        path = save_checkpoint(self.run_dir.checkpoint(which), self.cfg.model, _unwrap(self.G),
                               generator_ema=self.inference_generator(), discriminator=_unwrap(self.D),
                               training_state=self.training_state(), meta=meta)
        for fn in self.hooks["on_checkpoint"]:
            fn(self, self.step, path)
        return path

    def load_checkpoint(self, path: str | Path) -> None:
        """Restore everything a checkpoint holds, so training continues exactly where it stopped."""
        path = resolve(path)
        state = load_training_state(path)
        load_weights(_unwrap(self.G), path / GENERATOR)
        load_weights(_unwrap(self.D), path / DISCRIMINATOR)
        load_weights(self.G_ema, path / GENERATOR_EMA)
        with torch.no_grad():  # the running EMA's buffers track G's (the file holds recalibrated ones)
            for b_ema, b in zip(self.G_ema.buffers(), _unwrap(self.G).buffers()):
                b_ema.copy_(b)
        try:
            self.opt_g.load_state_dict(state["opt_g"])
            self.opt_d.load_state_dict(state["opt_d"])
            scalers = state.get("scaler")
            if self.scaler_d is not None and self.scaler_g is not None and scalers:
                if "d" not in scalers:  # written when one scaler served both optimisers
                    scalers = {"d": scalers, "g": scalers}
                self.scaler_d.load_state_dict(scalers["d"])
                self.scaler_g.load_state_dict(scalers["g"])
            self.batches.load_state_dict(state["batches"])
            rng = state["rng"]
            if not self.dist.enabled:  # per-rank RNG streams are re-seeded under DDP
                torch.set_rng_state(rng["torch"])
                np.random.set_state(rng["numpy"])
                random.setstate((rng["python"][0], tuple(rng["python"][1]), rng["python"][2]))
                self.gen.set_state(rng["trainer"])
                if self.device.type == "cuda" and "cuda" in rng:
                    torch.cuda.set_rng_state(rng["cuda"], self.device)
            if self.ada is not None and "ada" in state:
                self.ada.load_state_dict(state["ada"], self.device)
            self.step = int(state["step"])
            self.elapsed = float(state["elapsed"])
            self.best_score = float(state["best_score"])
            self.decay_from = state.get("decay_from")  # absent in checkpoints from before the schedule
        except (KeyError, ValueError, TypeError, RuntimeError) as e:
            raise CheckpointError(f"{path} has an unusable training state ({e})") from None
        if self.dist.enabled:
            self.gen.manual_seed(self.cfg.train.seed * 7919 + 17 + self.dist.rank + 1_000_003 * self.step)
        self._inference = None

    # -- the loop --------------------------------------------------------------------------
    def _accumulate(self, acc: dict[str, torch.Tensor], counts: dict[str, Any],
                    stats: dict[str, torch.Tensor]) -> None:
        """Add one step's stats to the window's sums. With loss scalers (fp16) a value that is not
        finite belongs to a pass its scaler skipped: it is left out, and counted out, on the device."""
        for k, v in stats.items():
            if self.scaler_d is not None:
                ok = torch.isfinite(v)
                v = torch.where(ok, v, torch.zeros_like(v))
                n: Any = ok.float()
            else:
                n = 1
            acc[k] = acc[k] + v if k in acc else v.clone()
            counts[k] = counts[k] + n if k in counts else n

    def _scale_collapsed(self) -> bool:
        """Whether fp16 loss scaling has given up (every recent pass overflowed): divergence."""
        return any(s is not None and s.get_scale() < 1.0 for s in (self.scaler_d, self.scaler_g))

    def _log_row(self, acc: dict[str, torch.Tensor], counts: dict[str, Any], window_s: float,
                 window_steps: int) -> dict[str, Any]:
        # each stat is averaged over the steps that produced it (R1 runs only every r1_every D
        # updates; under fp16, the passes its scaler did not skip)
        keys = sorted(acc)
        if self.scaler_d is None:
            means = [acc[k].float() / max(1, counts[k]) for k in keys]
        else:  # a window whose passes were all skipped has no mean: NaN
            means = [acc[k].float() / counts[k] if counts[k] > 0 else acc[k].float() * math.nan for k in keys]
        vec = distmod.all_mean(torch.stack(means), self.dist)
        vals = dict(zip(keys, vec.tolist()))
        bad = [k for k in ("loss_d", "loss_g") if not math.isfinite(vals.get(k, 0.0))]
        if bad and self.guard is None and (self.scaler_d is None or self._scale_collapsed()):
            raise TrainingError(
                f"training diverged: {bad[0]} became {vals[bad[0]]} by step {self.step}. "
                "Resume from the last checkpoint with a lower learning rate (--lr) or another --loss.")
        row: dict[str, Any] = {"step": self.step, "epoch": round(self.batches.epoch_progress, 4)}
        row.update({k: round(v, 5) for k, v in vals.items()})
        # throughput of the training steps themselves (samples and checkpoints excluded)
        row["img_per_s"] = round(window_steps * self.batch_size * self.dist.world / max(window_s, 1e-9), 1)
        row["time"] = round(self.elapsed, 2)
        row["wall"] = round(time.time(), 2)
        row["rss_mb"] = round(rss_bytes() / 2**20, 1)
        if self.device.type == "cuda":
            row["gpu_mem_mb"] = round(torch.cuda.max_memory_allocated(self.device) / 2**20, 1)
        row.update(self._pending_health)
        self._pending_health = {}
        return row

    def run(self, total_steps: int | None = None) -> str:
        """Train until `total_steps` (default: config's steps) or a stop request.

        Returns "finished" or "stopped". A diverged loss raises TrainingError after the run
        directory's status says why; any other exception is recorded there too.
        """
        tc = self.cfg.train
        total = total_steps or tc.steps
        self.total_steps = total
        rd = self.run_dir
        if rd is not None:
            rd.write_status("running", pid=os.getpid(), step=self.step, total_steps=total,
                            device=self.policy.describe(), loop_started=round(time.time(), 3))  # the time budget's clock
        acc: dict[str, torch.Tensor] = {}
        counts: dict[str, Any] = {}
        n_acc = 0
        synchronize(self.device)
        # `mark` starts the current stretch of training steps; the clock is read (after a device
        # synchronise) only where other work follows, so GPU steps are timed without a sync each
        mark = window_start = time.perf_counter()
        window_steps, window_train_s = 0, 0.0
        last_metrics: dict[str, Any] = {}
        state = "finished"
        if self.guard is not None:
            self.guard.start(self)
        try:
            while self.step < total:
                stats = self.train_step()
                self._accumulate(acc, counts, stats)
                n_acc += 1
                window_steps += 1
                step, end = self.step, self.step >= total
                judging = self.evaluator is not None and tc.eval_every > 0
                eval_due = judging and (self.decay_judgement_due() or step % tc.eval_every == 0 or end)
                log_due = step % tc.log_every == 0 or end or eval_due
                stop = False
                if distmod.stop_check_due(step, self.dist, log_due, end):
                    stop = distmod.any_flag(self._stop or (rd is not None and rd.stop_requested()),
                                            self.dist, self.device)
                eval_due = eval_due or (judging and stop)  # a stopped run's end is a candidate for best too
                sample_due = step % tc.sample_every == 0 or end or stop
                ckpt_due = step % tc.ckpt_every == 0 or end or stop
                if not (log_due or stop or sample_due or ckpt_due):
                    continue
                synchronize(self.device)  # other work follows: close the stretch of training steps
                now = time.perf_counter()
                self.elapsed += now - mark
                window_train_s += now - mark
                if sample_due:
                    self.save_samples()
                new_best = self.evaluator is None  # without an evaluator, best is simply the newest
                if log_due or stop:
                    last_metrics = self._log_row(acc, counts, window_train_s, window_steps)
                    if eval_due:
                        last_metrics.update(self._evaluate())
                        plateau = self.watch_plateau(last_metrics.get("eval_fd", math.inf),
                                                     last_metrics.get("eval_fd_ratio"))
                        if plateau and rd is not None:  # a line on the Monitor's charts
                            rd.append_event(plateau)
                        new_best = last_metrics.get("eval_fd", math.inf) < self.best_score
                        if new_best:
                            self.best_score = float(last_metrics["eval_fd"])
                    if self.guard is not None:  # the sample health its rules read, written with the row
                        self.guard.measure(self, last_metrics)
                    if rd is not None:
                        rd.append_metrics(last_metrics)
                        rd.write_status("running", step=step, total_steps=total,
                                        eta_s=round((total - step) * (now - window_start) / window_steps, 1))
                    for fn in self.hooks["on_step"]:
                        fn(self, last_metrics)
                    acc, counts, n_acc = {}, {}, 0
                verdict = self.guard.check(self, last_metrics) if self.guard is not None and (log_due or stop) else ""
                if verdict == "rolled_back":  # back at a healthy checkpoint with a remedy (gan_core.guard)
                    mark = window_start = time.perf_counter()
                    window_steps, window_train_s = 0, 0.0
                    continue
                stop = stop or verdict == "stop"
                ckpt_due = ckpt_due or stop
                if ckpt_due or (eval_due and new_best):
                    self._checkpoint(last_metrics, new_best)
                synchronize(self.device)
                mark = time.perf_counter()
                if n_acc == 0:  # a row was just logged: start a new window
                    window_start, window_steps, window_train_s = mark, 0, 0.0
                if stop:
                    state = "stopped"
                    break
        except TrainingError as e:
            if rd is not None:
                rd.write_status("failed", step=self.step, error=str(e))
            raise
        except BaseException as e:
            if rd is not None:
                msg = "stopped by keyboard interrupt" if isinstance(e, KeyboardInterrupt) else f"{type(e).__name__}: {e}"
                rd.write_status("failed", step=self.step, error=msg)
            raise
        if rd is not None:
            rd.clear_stop()
            rd.write_status(state, step=self.step, total_steps=total)
        return state

    def rejudge_best(self, judge: Callable[[nn.Module], dict[str, float]]) -> dict[str, Any] | None:
        """After the run: `best` against `latest` under `judge`, a larger judgement than the run's on
        latents of its own; `latest` becomes `best` when it reads the lower FD. `best` is the minimum
        of a dozen or more judgements on the same 1,000 latents, so it rides their noise (a winner's
        curse; figures in `gan_core.presets`). Returns the event recorded (None: nothing to compare)."""
        rd = self.run_dir
        if rd is None or not (rd.checkpoint("best") / "config.json").is_file():
            return None
        best, latest = rd.checkpoint("best"), rd.checkpoint("latest")
        g_best, _, meta_best = load_generator(best, device=self.device)
        g_latest, _, meta_latest = load_generator(latest, device=self.device)
        if meta_best.get("step") == meta_latest.get("step"):
            return None
        fd_best, fd_latest = float(judge(g_best)["fd"]), float(judge(g_latest)["fd"])
        swap = fd_latest < fd_best
        if swap:
            copy_checkpoint(latest, best)
        kept = meta_latest["step"] if swap else meta_best["step"]
        return rd.append_event({
            "step": self.step, "kind": "best", "action": "best re-judged",
            "text": f"best re-judged on more samples: step {kept} is the run's result",
            "evidence": {f"step {meta_best['step']} (judged best)": round(fd_best, 4),
                         f"step {meta_latest['step']} (latest)": round(fd_latest, 4)}})

    def _evaluate(self) -> dict[str, float]:
        result = {f"eval_{k}" if not k.startswith("eval_") else k: float(v)
                  for k, v in self.evaluator(self.inference_generator()).items()}  # type: ignore[misc]
        return result

    def _checkpoint(self, metrics: dict[str, Any], new_best: bool) -> None:
        """Write checkpoints/latest, and checkpoints/best when this step is the best so far."""
        if self.run_dir is None:
            distmod.barrier(self.dist)
            return
        latest = self.save_checkpoint("latest", metrics)
        if new_best and latest is not None:
            copy_checkpoint(latest, self.run_dir.checkpoint("best"))
        distmod.barrier(self.dist)
