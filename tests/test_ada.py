"""The ADA controller (direction, bounds, speed, state) and per-image augmentation with probability p."""

import pytest
import torch

from gan_core.ada import AdaController
from gan_core.augment import diff_augment


def feed(ada: AdaController, value: float, n: int) -> None:
    for _ in range(n):
        ada.observe(torch.full((8,), value))


def test_p_rises_while_d_is_too_sure_of_the_reals_and_falls_otherwise() -> None:
    ada = AdaController(target=0.6, interval=2, adjust_kimg=1.0)
    feed(ada, 1.0, 2)
    assert ada.maybe_adjust(batch=100)
    assert ada.p == pytest.approx(0.2) and ada.last_rt == 1.0  # 100 * 2 / 1000 per adjustment
    feed(ada, 1.0, 2)
    ada.maybe_adjust(batch=100)
    feed(ada, -1.0, 2)
    ada.maybe_adjust(batch=100)
    assert ada.p == pytest.approx(0.2)  # up, up, down


def test_adjusts_only_every_interval_updates_and_stays_in_bounds() -> None:
    ada = AdaController(target=0.6, interval=3, adjust_kimg=0.001)
    feed(ada, -1.0, 2)
    assert not ada.maybe_adjust(batch=64) and ada.p == 0.0
    feed(ada, -1.0, 1)
    assert ada.maybe_adjust(batch=64) and ada.p == 0.0  # clamped at 0
    for _ in range(3):
        feed(ada, 1.0, 3)
        ada.maybe_adjust(batch=64)
    assert 0.99 < ada.p < 1.0  # clamped below 1


def test_the_heuristic_is_the_mean_over_the_interval() -> None:
    ada = AdaController(target=0.6, interval=2, adjust_kimg=1.0)
    ada.observe(torch.tensor([1.0, 1.0, 1.0, -1.0]))  # 0.5
    ada.observe(torch.tensor([1.0, 1.0, 1.0, 1.0]))  # 1.0
    ada.maybe_adjust(batch=10)
    assert ada.last_rt == pytest.approx(0.75) and ada.p > 0


def test_state_round_trip_keeps_pending_signs() -> None:
    a = AdaController(target=0.5, interval=4, adjust_kimg=1.0)
    feed(a, 1.0, 4)
    a.maybe_adjust(batch=32)
    feed(a, -1.0, 3)
    b = AdaController(target=0.5, interval=4, adjust_kimg=1.0)
    b.load_state_dict(a.state_dict())
    assert (b.p, b.last_rt) == (a.p, a.last_rt)
    for c in (a, b):
        feed(c, 1.0, 1)
        c.maybe_adjust(batch=32)
    assert b.p == a.p and b.last_rt == a.last_rt


def test_p_zero_leaves_images_alone_and_p_near_one_augments_every_image() -> None:
    x = torch.rand(32, 1, 8, 8) * 2 - 1
    same = diff_augment(x, ["color", "translation", "cutout"], torch.Generator().manual_seed(0), p=0.0)
    assert torch.equal(same, x)
    out = diff_augment(x, ["cutout"], torch.Generator().manual_seed(0), p=0.999999)
    assert all(not torch.equal(out[i], x[i]) for i in range(32))


def test_share_of_augmented_images_follows_p() -> None:
    x = torch.rand(4000, 1, 8, 8) + 1.0  # positive everywhere: a cutout shows as zeros
    out = diff_augment(x, ["cutout"], torch.Generator().manual_seed(1), p=0.3)
    changed = (out != x).flatten(1).any(1).float().mean().item()
    assert abs(changed - 0.3) < 0.04


def test_random_stream_does_not_depend_on_p() -> None:
    x = torch.rand(8, 1, 8, 8)
    gens = [torch.Generator().manual_seed(3) for _ in range(2)]
    diff_augment(x, ["color", "translation", "cutout"], gens[0], p=0.1)
    diff_augment(x, ["color", "translation", "cutout"], gens[1], p=0.9)
    assert torch.equal(torch.rand(4, generator=gens[0]), torch.rand(4, generator=gens[1]))


def test_gradients_flow_through_the_augmentation() -> None:
    x = torch.rand(16, 1, 8, 8, requires_grad=True)
    diff_augment(x, ["color", "translation"], torch.Generator().manual_seed(0), p=0.5).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
