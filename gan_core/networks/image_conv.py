"""A 3x3 convolution with few output channels (a generator's image layer), fast on the CPU.

oneDNN runs a 64 -> 1 channel 3x3 convolution on NCHW fp32 at a few GFLOP/s: the ACGAN-32
generator's output layer took 45 ms of a 340 ms training step on a 2-core AVX2 CPU, for 0.2% of
the step's FLOPs. Written as batched matrix products it takes ~11 ms, forward and backward.

The maths, for x (B, C, H, W) and weights w (K, C, 3, 3):
    y[b, (k, ky, kx), p] = sum_c w[k, c, ky, kx] x[b, c, p]          one (9K, C) @ (C, HW) per image
    out[b, k, i, j] = bias[k] + sum_{ky, kx} y[b, (k, ky, kx), i + ky - 1, j + kx - 1]
(taps falling outside the image are the zero padding). Backward: the shifts' adjoint spreads
grad_out into 9 shifted maps g9, then grad_x = w^T @ g9 and grad_w = sum_b g9 @ x^T.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

MAX_FAST_CHANNELS = 4  # measured faster than oneDNN for 1 and 3 output channels


def _span(d: int, n: int) -> slice:
    """The rows (or columns) i with 0 <= i + d < n."""
    return slice(max(0, -d), n - max(0, d))


def _shifted(d: int, n: int) -> slice:
    """The same rows moved by d: i + d for i in _span(d, n)."""
    return slice(max(0, d), n - max(0, -d))


def _sum_taps(y: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """(B, K, 3, 3, H, W) tap maps -> (B, K, H, W): each map moved by its tap's offset, summed."""
    b, k, _, _, h, w = y.shape
    out = y[:, :, 1, 1].clone()  # the centre tap covers every pixel
    if bias is not None:
        out += bias.view(1, k, 1, 1)
    for ky in range(3):
        for kx in range(3):
            if ky == 1 and kx == 1:
                continue
            dy, dx = ky - 1, kx - 1
            out[:, :, _span(dy, h), _span(dx, w)] += y[:, :, ky, kx, _shifted(dy, h), _shifted(dx, w)]
    return out


def _spread_taps(g: torch.Tensor) -> torch.Tensor:
    """The adjoint of _sum_taps (without the bias): (B, K, H, W) -> (B, K, 3, 3, H, W)."""
    b, k, h, w = g.shape
    g9 = g.new_zeros(b, k, 3, 3, h, w)
    for ky in range(3):
        for kx in range(3):
            dy, dx = ky - 1, kx - 1
            g9[:, :, ky, kx, _shifted(dy, h), _shifted(dx, w)] = g[:, :, _span(dy, h), _span(dx, w)]
    return g9


class _Conv3x3Matmul(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        b, c, h, w = x.shape
        k = weight.shape[0]
        wt = weight.permute(0, 2, 3, 1).reshape(k * 9, c)  # rows ordered (k, ky, kx)
        # (B, C, HW): a view of NCHW and of channels_last memory alike (BLAS reads either)
        xm = x.reshape(b, c, h * w)
        # an explicit bmm: matmul would fold the batch into one skinny product and copy x for it
        y = torch.bmm(wt.expand(b, k * 9, c), xm)  # (B, 9K, HW)
        ctx.save_for_backward(xm, wt)
        ctx.has_bias = bias is not None
        ctx.channels_last = not x.is_contiguous()
        return _sum_taps(y.view(b, k, 3, 3, h, w), bias)

    @staticmethod
    @once_differentiable  # wt is saved from forward, so a second derivative would miss it: refuse one
    def backward(ctx, grad_out: torch.Tensor):  # type: ignore[override]
        xm, wt = ctx.saved_tensors
        b, c, hw = xm.shape
        k = wt.shape[0] // 9
        g = grad_out.contiguous()
        g9 = _spread_taps(g).view(b, k * 9, hw)
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            h, w = g.shape[2:]
            if ctx.channels_last:  # the input's gradient in the input's layout: (B, HW, C) in memory
                gx = torch.bmm(g9.transpose(1, 2), wt.expand(b, k * 9, c)).view(b, h, w, c).permute(0, 3, 1, 2)
            else:
                gx = torch.bmm(wt.t().expand(b, c, k * 9), g9).view(b, c, h, w)
        if ctx.needs_input_grad[1]:
            gw = torch.bmm(g9, xm.transpose(1, 2)).sum(0).view(k, 3, 3, c).permute(0, 3, 1, 2)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            gb = g.sum((0, 2, 3))
        return gx, gw, gb


class ImageConv3x3(nn.Conv2d):
    """nn.Conv2d(c_in, c_out, 3, 1, 1) for a few output channels; same parameters and state_dict.

    On the CPU, for an NCHW or channels_last input outside autocast, it runs as the matrix
    products above; anywhere else (CUDA, bf16 autocast) as the plain convolution."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__(c_in, c_out, 3, 1, 1)

    def _fast(self, x: torch.Tensor) -> bool:
        return (x.device.type == "cpu" and x.dim() == 4 and self.out_channels <= MAX_FAST_CHANNELS
                and x.dtype == self.weight.dtype
                and (x.is_contiguous() or x.is_contiguous(memory_format=torch.channels_last))
                and not torch.is_autocast_enabled("cpu"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._fast(x):
            # (B, c_in, H, W) -> (B, c_out, H, W)
            return _Conv3x3Matmul.apply(x, self.weight, self.bias)
        return F.conv2d(x, self.weight, self.bias, 1, 1)
