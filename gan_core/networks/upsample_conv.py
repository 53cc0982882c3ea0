"""Nearest 2x upsampling + 3x3 convolution computed as one transposed convolution, and the
render-time copy of a generator that builds those kernels once (`for_inference`).

Both generators that upsample this way use it: the ACGAN's stages and the R3GAN generator's
stage transitions (`model.g_upsample` "conv").
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class UpsampleConv3x3(nn.Conv2d):
    """Nearest 2x upsampling followed by this 3x3 convolution (stride 1, padding 1), in one step.

    Each output pixel of conv3x3(upsample(x)) sees a 2x2 patch of x, with the 3x3 taps summed
    according to the pixel's position in its 2x2 block. So the pair equals a stride-2 4x4
    transposed convolution of x whose kernel is built from the 3x3 weights: 16 multiply-adds
    per input pixel instead of 36, and no upsampled copy of x. The parameters are the 3x3 conv's,
    so checkpoints and gradients are those of the plain pair (same values up to float rounding).
    """

    def __init__(self, c_in: int, c_out: int):
        super().__init__(c_in, c_out, 3, 1, 1)

    def kernel4(self) -> torch.Tensor:
        """(c_out, c_in, 3, 3) -> the transposed conv's (c_in, c_out, 4, 4) kernel.

        Along each axis the 4 taps are (w2, w1 + w2, w0 + w1, w0); plain adds keep it in the
        weights' dtype under autocast."""
        w = self.weight
        rows = torch.stack([w[:, :, 2], w[:, :, 1] + w[:, :, 2], w[:, :, 0] + w[:, :, 1], w[:, :, 0]], dim=2)
        k = torch.stack([rows[..., 2], rows[..., 1] + rows[..., 2], rows[..., 0] + rows[..., 1], rows[..., 0]],
                        dim=3)  # (c_out, c_in, 4, 4)
        return k.transpose(0, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.kernel4()
        if self.weight.is_contiguous(memory_format=torch.channels_last):
            # follow the module's layout as nn.ConvTranspose2d would: a channels_last kernel makes
            # the convolution (and every layer after it) run in NHWC even from an NCHW input
            k = k.contiguous(memory_format=torch.channels_last)
        # (B, c_in, s, s) -> (B, c_out, 2s, 2s)
        return F.conv_transpose2d(x, k, self.bias, stride=2, padding=1)


def for_inference(generator: nn.Module) -> nn.Module:
    """An eval-mode copy of a generator whose UpsampleConv3x3 layers are nn.ConvTranspose2d
    holding their 4x4 kernels, built once; the original is untouched.

    A generator that only renders (the render service, evaluation) would otherwise rebuild every
    kernel on every call: a quarter of a one-image render. Other layers, the memory layout and
    the outputs stay as they are; generators without these layers come back as plain copies."""
    import copy

    g = copy.deepcopy(generator).eval()
    for parent in list(g.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, UpsampleConv3x3):
                w = child.weight
                d = nn.ConvTranspose2d(child.in_channels, child.out_channels, 4, 2, 1, bias=child.bias is not None,
                                       device=w.device, dtype=w.dtype)
                with torch.no_grad():
                    d.weight.copy_(child.kernel4())
                    if child.bias is not None:
                        d.bias.copy_(child.bias)
                if w.is_contiguous(memory_format=torch.channels_last):
                    d.to(memory_format=torch.channels_last)
                d.requires_grad_(w.requires_grad)
                setattr(parent, name, d)
    return g
