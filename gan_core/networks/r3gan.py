"""A small modern GAN in the spirit of R3GAN (Huang et al. 2024, "The GAN is dead; long live the GAN!").

Both networks are stacks of residual blocks without normalisation layers: x + 1x1(act(3x3(act(x)))).
The 1x1 conv of every block starts at zero (Fix-up style), so each network starts as a plain
chain of transitions and the residual branches grow from there; no BatchNorm means no statistics
to recalibrate for the EMA copy (`training.recalibrate_batchnorm` skips it). R3GAN's blocks are
inverted bottlenecks with grouped 3x3 convs; on this CPU (oneDNN, fp32) grouped and depthwise 3x3
convs ran slower than dense ones of the same multiply-adds (forward + backward, batch 64 at
32 px), so the blocks here are dense.

Widths follow `stage_widths`: `base` (ngf or ndf) at 16 px, twice that at 8 and 4 px, halved
per doubling above 16 px down to `model.min_width` (16 unless set), so the costly high-resolution
stages stay thin.

Generator: z (B, nz) [+ class embedding (B, nz), concatenated] -> linear -> 4x4 map; per stage a
1x1 conv to the next width, bilinear 2x upsampling, one residual block; a 1x1 conv makes the image,
and a tanh squashes it into (-1, 1) (`model.g_output`; see below). Each stage's
main path is then a pointwise function of smoothly interpolated maps, and on faces this G draws
smooth blobs with thin wavy outlines (along the level sets where a leaky ReLU bends).
`model.g_upsample` "conv" instead doubles the resolution by nearest 2x and a 3x3 conv (one stride-2
transposed conv, `upsample_conv.UpsampleConv3x3`: the fastest of three forms timed, yet its three
transitions at the 32 px preset's shapes took 16.5 ms forward + backward against bilinear's 8.2 ms,
batch 64, 2 threads). It learns far more per step and draws no outlines, but its steps cost more on
a CPU and its pictures carry a fine axis-aligned grid texture, so the default stays "bilinear".
Measured with the same command and seed, "conv" against "bilinear":
- per step (1 thread, step-scheduled; judged FD on 1,000 samples, `evaluate` on 10,000):
  - ORL faces, the shipping command cut to 3,000 steps: judged FD 20.1 against 69.0 (bilinear 2x
    then a 3x3 conv: 38.9); face layouts at step 1,800 where "bilinear" drew blobs.
  - Animal-MNIST, the automatic preset cut to 4,800 steps: FD 43.8x against 78.6x the real-vs-real
    baseline, class agreement 0.985 against 0.879; 15% fewer images per second.
  - MNIST t10k zip, the same: FD 9.26x against 12.25x, recall 0.60 against 0.50.
- per minute (the issue's 10-minute command, 2 threads; "bilinear" from the stop before, the same
  machine type): the steps took 28% longer (MNIST 6,226 steps against 8,007), the "conv" runs found
  no plateau to start the decay, and FD read 7.10x against 3.54x (MNIST) and 21.1x against 13.0x
  (Animal-MNIST).
- ORL's 60-minute shipping command: 18,902 steps against 22,200 (a test run shared the CPU for 4 of
  its minutes); FD 1.48x against 0.80x, identity 97.2% against 99.1% (the shipped `orl-faces-r3gan`
  is the "bilinear" run).
G's last layer (`model.g_output`) is a tanh, as in the seeds' DCGAN and ACGAN. R3GAN's own generator
ends linear, its image clamped to [-1, 1] only when turned into pixels ("linear", which every r3gan
checkpoint written before format 3 holds). With the tanh, flat backgrounds and hard edges come from
saturating it, and silhouettes were learnt far faster. Same command and seed (the automatic preset cut
to 7,500 steps, 1 thread, step-scheduled; FD over the judge's real-vs-real baseline, 10,000-sample
`evaluate`), tanh against linear:
- Animal-MNIST: FD 7.65x against 11.1x, recall 0.62 against 0.50; the judged FD (1,000 samples) at
  step 3,000 read 12.4 against 57.3. (One seed each: three seeds of the later recipe spread from
  6.5x to 10.2x, `gan_core.presets`, so the end figures alone would not decide it; the early lead
  and the faces below do.)
- MNIST t10k zip: 4.26x against 3.58x. The linear run's plateau decay had started at step 4,550; the
  tanh run's judged FD kept falling, so its rates stayed constant. With the same decay forced over
  the last 40% of both tanh runs: MNIST 3.35x, Animal-MNIST 9.63x (still learning steeply).
- ORL faces, 64 px (the automatic preset with flips cut to 3,000 steps, seed 1): FD 17.2x against
  21.5x, identity agreement 23.9% against 19.0%; the judged FD was lower at each of its six
  judgements (17.5 against 21.5 at the last). The shipped `orl-faces-r3gan` stays the linear run.
The tanh hands a 1-channel image back with the plain strides, which sent D's convs down their NCHW
path, 12-16% slower (G + D forward and backward, batch 64, 1 thread, timed in turns); `forward`
restores the NHWC strides.
A StyleGAN2 skip generator (a 1x1 conv drawing a picture at every coarser stage, summed upsampled
into the output) was tried in the automatic preset and measured worse in 10-minute runs at 32 px on
both labelled test sets (MNIST t10k FD 9.2x against 4.0x, Animal-MNIST 28x against 23x), so G draws
at its last stage only. (Adding a 1-channel upsampled picture to the output also changed the
output's strides to the plain layout, which made D run without channels_last, 23% slower.)
A second residual block at 4 and 8 px in G costs nothing measurable (84.4 against 84.0 ms per step,
2 threads, Animal-MNIST's preset) but read 6.78x against 6.47x on Animal-MNIST (the automatic preset
cut to 7,500 steps, last 20% decayed, 1 thread, step-scheduled, same seed), within one run's spread,
so each stage keeps one block. Widening both networks' 4 and 8 px stages to 4x base costs 52% more
per step (127 ms); D's alone (34% more) read 6.89x (`gan_core.presets`).

Both networks keep their full-resolution stage though it is the costliest: at 32 px it took 46% of a
training step's time (1 thread, Animal-MNIST's preset), since 16-channel convs and the elementwise
work on the largest maps run far below the CPU's speed on the smaller ones. Tried without it:
- D reading each 2x2 block of pixels as 4x the channels at 16 px (pixel unshuffle): steps took 57
  against 83 ms (2 threads) and its judged FD kept pace up to step 7,200, but then stalled (1.1 to
  1.8 up to step 11,000 at constant rates, recall 0.30 to 0.36) while the full-resolution D's run,
  continued the same way, went from 1.72 to 1.01 (recall 0.38 to 0.46). Its 10-minute run (10,527
  steps, decay from step 8,000) read 20.2x against 23.0x (7,236 steps): too little for a D that
  falls behind later.
- G drawing each 2x2 block from one 16 px position too (pixel shuffle): no faster than D alone,
  and behind per step (judged FD 17.3 against 11.1 at step 3,200).

Discriminator: a 1x1 conv from the image (from a group of `model.d_pack` images stacked along the
channels, PacGAN: `gan_core.packing`; figures in `gan_core.presets`); per stage one residual block, 2x2 average pooling and
a 1x1 conv to the next width; at 4x4 (with `d_mbstd` > 0) one more channel, the minibatch
standard deviation (StyleGAN, Karras et al. 2018): the spread of the features over a group of
images, so a generator that draws the same picture for every z is visible to D; then a linear
layer to a feature vector h (B, w4). Adversarial
logit: linear(h) + <embed(y), h>, the projection discriminator (Miyato & Koyama 2018) when the
model is conditional. `h @ embed.weight.T` (B, K) are the class scores: the class D reads best,
which the trainer logs as class agreement and may train with a cross-entropy (the ACGAN head's
loss, `train.aux_weight`; on real images only with `train.aux_on_fake` off, and not in G's loss
with `train.aux_in_g` off, when the projection alone conditions G).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import R3GAN_MIN_WIDTH, ModelConfig
from .upsample_conv import UpsampleConv3x3

SLOPE = 0.2  # leaky ReLU


def stage_widths(base: int, image_size: int, floor: int = R3GAN_MIN_WIDTH) -> dict[int, int]:
    """Channels per resolution, 4 px up to `image_size`: base at 16 px, 2x base at 4 and 8 px,
    halved per doubling above 16 px, at least `floor` (`model.min_width`).
    base 64, 32 px: {4: 128, 8: 128, 16: 64, 32: 32}; base 32, 64 px, floor 32: {..., 32: 32, 64: 32}."""
    out, res = {}, 4
    while res <= image_size:
        out[res] = max(floor, min(2 * base, base * 16 // res))
        res *= 2
    return out


def minibatch_stddev(x: torch.Tensor, group: int) -> torch.Tensor:
    """x (B, c, s, s) -> (B, c + 1, s, s): one more channel holding, for each image, the mean over
    channels and pixels of the features' standard deviation across its group of `group` images
    (images i, i + B/g, ... form a group; a batch `group` does not divide uses the largest divisor)."""
    b, c, h, w = x.shape
    g = math.gcd(b, group)
    if g < 2:  # one image per group: no spread to measure
        return torch.cat([x, x.new_zeros(b, 1, h, w)], dim=1)
    y = x.float().reshape(g, b // g, c, h, w)  # (g, B/g, c, s, s)
    y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt()  # (B/g, c, s, s)
    y = y.mean(dim=(1, 2, 3)).to(x.dtype)  # (B/g,)
    y = y.repeat(g).view(b, 1, 1, 1).expand(b, 1, h, w)  # (B, 1, s, s)
    return torch.cat([x, y], dim=1)


def _act(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, SLOPE)


class ResBlock(nn.Module):
    """x (B, c, s, s) -> x + f(x) (B, c, s, s); f = dense 3x3 conv, leaky ReLU, 1x1 conv."""

    def __init__(self, c: int):
        super().__init__()
        self.spatial = nn.Conv2d(c, c, 3, 1, 1)  # (B, c, s, s) -> (B, c, s, s)
        self.contract = nn.Conv2d(c, c, 1)  # (B, c, s, s) -> (B, c, s, s)
        nn.init.zeros_(self.contract.weight)  # the block starts as the identity
        nn.init.zeros_(self.contract.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.contract(_act(self.spatial(_act(x))))


class R3GANGenerator(nn.Module):
    """z (B, nz) + labels (B,) or class_embedding (B, nz) when conditional -> image (B, C, S, S)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        widths = stage_widths(cfg.ngf, cfg.image_size, cfg.min_width)
        self.w4 = widths[4]
        cond = cfg.num_classes > 0
        if cond:
            self.label_emb = nn.Embedding(cfg.num_classes, cfg.nz)  # (B,) -> (B, nz)
        # (B, nz or 2 nz) -> (B, w4 * 4 * 4)
        self.basis = nn.Linear(cfg.nz * (2 if cond else 1), self.w4 * 16)
        self.block4 = ResBlock(self.w4)  # (B, w4, 4, 4)
        self.conv_up = cfg.g_upsample == "conv"
        ups, blocks = [], []
        for res in sorted(widths)[1:]:
            c_in, c_out = widths[res // 2], widths[res]
            # conv: (B, c_in, res/2, res/2) -> nearest 2x + 3x3 -> (B, c_out, res, res)
            # bilinear: (B, c_in, res/2, res/2) -> 1x1 -> (B, c_out, res/2, res/2) -> bilinear 2x -> (B, c_out, res, res)
            ups.append(UpsampleConv3x3(c_in, c_out) if self.conv_up else nn.Conv2d(c_in, c_out, 1))
            blocks.append(ResBlock(c_out))  # (B, w_res, res, res)
        self.ups = nn.ModuleList(ups)
        self.blocks = nn.ModuleList(blocks)
        # (B, w_S, S, S) -> (B, C, S, S)
        self.to_image = nn.Conv2d(widths[cfg.image_size], cfg.channels, 1)
        self.tanh = cfg.g_output == "tanh"

    def embed(self, labels: torch.Tensor) -> torch.Tensor:
        return self.label_emb(labels)  # (B,) -> (B, nz)

    def early_features(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The basis layer's activations (B, w4 * 16), used to find latent directions."""
        return self._basis(z, labels, None)

    def _basis(self, z: torch.Tensor, labels: torch.Tensor | None,
               class_embedding: torch.Tensor | None) -> torch.Tensor:
        if z.dim() == 4:
            z = z.flatten(1)  # (B, nz, 1, 1) -> (B, nz)
        if self.cfg.num_classes > 0:
            if class_embedding is None:
                if labels is None:
                    raise ValueError("this generator is class-conditional: give labels or a class_embedding")
                class_embedding = self.label_emb(labels)
            z = torch.cat([z, class_embedding.to(z.dtype)], dim=1)  # (B, 2 nz)
        elif labels is not None or class_embedding is not None:
            raise ValueError("this generator is unconditional: it takes no class")
        return self.basis(z)  # (B, w4 * 16)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None,
                class_embedding: torch.Tensor | None = None) -> torch.Tensor:
        h = self._basis(z, labels, class_embedding)
        h = _act(h).view(h.shape[0], self.w4, 4, 4)  # (B, w4, 4, 4)
        if self.to_image.weight.is_contiguous(memory_format=torch.channels_last):
            h = h.contiguous(memory_format=torch.channels_last)  # the layout the convs' weights have
        h = self.block4(h)
        for up, block in zip(self.ups, self.blocks):
            if self.conv_up:
                h = up(h)  # (B, w', 2s, 2s)
            else:  # (bilinear, not nearest, after a 1x1 conv: nearest left visible 2x2..8x8 blocks)
                h = F.interpolate(up(h), scale_factor=2.0, mode="bilinear", align_corners=False)  # (B, w', 2s, 2s)
            h = block(h)
        x = self.to_image(_act(h))  # (B, C, S, S)
        if not self.tanh:
            return x  # about [-1, 1]
        y = torch.tanh(x)  # (B, C, S, S) in (-1, 1)
        if y.shape[1] == 1 and x.stride(1) == 1 and y.stride(1) != 1:
            # a 1-channel map is "contiguous" in both layouts and tanh hands back the plain strides;
            # D's first conv then takes the NCHW path, slower (module docstring). Same values, NHWC strides:
            b, _, s_h, s_w = y.shape
            y = y.reshape(b, s_h, s_w, 1).permute(0, 3, 1, 2)  # (B, 1, S, S)
        return y


class R3GANDiscriminator(nn.Module):
    """image (B, C, S, S) [+ labels (B,)] -> (adversarial logits (B,), class scores (B, K) or None);
    with `model.d_pack` p > 1 each item is a group of p images, (B, p*C, S, S) (`packing.pack`).

    Without labels a conditional D returns the unconditional part of the logit; the class scores
    are always there for a conditional model."""

    takes_labels = True  # the trainer passes the real/requested labels to this D

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        widths = stage_widths(cfg.ndf, cfg.image_size, cfg.min_width)
        res = sorted(widths, reverse=True)  # S, S/2, ..., 4
        # (B, p*C, S, S) -> (B, w_S, S, S), p = d_pack images per item
        self.from_image = nn.Conv2d(cfg.channels * cfg.d_pack, widths[res[0]], 1)
        blocks, downs = [], []
        for r in res[:-1]:
            blocks.append(ResBlock(widths[r]))  # (B, w_r, r, r)
            # (B, w_r, r, r) -> pool -> (B, w_r, r/2, r/2) -> 1x1 -> (B, w_{r/2}, r/2, r/2)
            downs.append(nn.Conv2d(widths[r], widths[r // 2], 1))
        self.blocks = nn.ModuleList(blocks)
        self.downs = nn.ModuleList(downs)
        self.w4 = widths[4]
        self.block4 = ResBlock(self.w4)  # (B, w4, 4, 4)
        self.mbstd = cfg.d_mbstd
        extra = 1 if self.mbstd else 0  # the minibatch standard deviation channel
        self.features = nn.Linear((self.w4 + extra) * 16, self.w4)  # (B, (w4 [+ 1]) * 16) -> (B, w4)
        self.adv = nn.Linear(self.w4, 1)  # (B, w4) -> (B, 1)
        if cfg.num_classes > 0:
            self.class_emb = nn.Embedding(cfg.num_classes, self.w4)  # (B,) -> (B, w4): the projection

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.from_image(x)
        for block, down in zip(self.blocks, self.downs):
            h = down(F.avg_pool2d(block(h), 2))  # (B, w_r, r, r) -> (B, w_{r/2}, r/2, r/2)
        h = _act(self.block4(h))  # (B, w4, 4, 4)
        if self.mbstd:
            h = minibatch_stddev(h, self.mbstd)  # (B, w4 + 1, 4, 4)
        h = h.flatten(1)  # (B, (w4 [+ 1]) * 16)
        h = _act(self.features(h))  # (B, w4)
        out = self.adv(h).flatten()  # (B,)
        if self.cfg.num_classes == 0:
            return out, None
        scores = h @ self.class_emb.weight.t().to(h.dtype)  # (B, K)
        if labels is not None:
            out = out + scores.gather(1, labels.view(-1, 1)).flatten()  # + <embed(y), h>
        return out, scores
