import threading
from pathlib import Path

import numpy as np
import pytest

from gan_core.checkpoints import save_checkpoint
from gan_core.explore import Recipe, RecipeError
from gan_core.config import ModelConfig
from gan_core.networks import build_generator
from gan_core.render import RenderService


@pytest.fixture
def acgan_ckpt(tmp_path: Path) -> Path:
    cfg = ModelConfig(arch="acgan", image_size=32, channels=1, nz=16, ngf=8, num_classes=3)
    return save_checkpoint(tmp_path / "ac", cfg, build_generator(cfg).eval())


@pytest.fixture
def dcgan_ckpt(tmp_path: Path) -> Path:
    cfg = ModelConfig(arch="dcgan", image_size=64, channels=3, nz=16, ngf=8)
    return save_checkpoint(tmp_path / "dc", cfg, build_generator(cfg).eval())


def test_render_returns_uint8_hwc_and_is_deterministic(dcgan_ckpt: Path) -> None:
    svc = RenderService(dcgan_ckpt, threads=0)
    a, b = svc.render(7), svc.render(7)
    assert a.dtype == np.uint8 and a.shape == (64, 64, 3)
    assert np.array_equal(a, b) and not np.array_equal(a, svc.render(8))
    assert not svc.generator.training


def test_single_image_equals_its_row_in_a_batch(dcgan_ckpt: Path) -> None:
    svc = RenderService(dcgan_ckpt, threads=0)
    batch = svc.render_seeds([3, 4, 5])
    assert batch.shape == (3, 64, 64, 3)
    # eval-mode BatchNorm: an image depends on its own latent only
    assert np.abs(batch[1].astype(int) - svc.render(4).astype(int)).max() <= 1


@pytest.mark.parametrize("which", ["acgan", "dcgan"])
def test_channels_last_weights_render_the_checkpoints_pixels(which: str, acgan_ckpt: Path, dcgan_ckpt: Path) -> None:
    """The service keeps conv weights in channels_last (NHWC kernels, ~2x faster on a CPU core);
    its pixels match the checkpoint's generator run in plain NCHW to within one grey level."""
    import torch

    from gan_core.checkpoints import load_generator

    ckpt = acgan_ckpt if which == "acgan" else dcgan_ckpt
    svc = RenderService(ckpt, threads=0)
    convs = [m for m in svc.generator.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    assert convs and all(m.weight.is_contiguous(memory_format=torch.channels_last) for m in convs)
    plain, cfg, _ = load_generator(ckpt)
    z = np.stack([svc.z(s) for s in range(4)])
    with torch.inference_mode():
        zt = torch.as_tensor(z)
        x = plain(zt, torch.tensor([0, 1, 2, 0])) if cfg.conditional else plain(zt)
    ref = x.clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    got = svc.render_z(z, [0, 1, 2, 0] if cfg.conditional else None)
    assert np.abs(got.astype(int) - ref.astype(int)).max() <= 1


def test_classes_and_blends(acgan_ckpt: Path) -> None:
    svc = RenderService(acgan_ckpt, threads=0)
    z = svc.z(1)
    img0 = svc.render_z(z, 0)
    assert img0.shape == (32, 32, 1)
    assert np.array_equal(svc.render_z(z, class_embedding=svc.class_embedding(0, 2, 0.0)), img0)
    assert np.array_equal(svc.render_z(z, class_embedding=svc.class_embedding(0, 2, 1.0)), svc.render_z(z, 2))
    with pytest.raises(ValueError, match="class index"):
        svc.render_z(z, 3)
    with pytest.raises(ValueError, match="class-conditional"):
        svc.render_z(z)
    assert np.array_equal(svc.render(5), svc.render_z(z * 0 + svc.z(5), 5 % 3))


def test_unconditional_refuses_classes_and_bad_latents(dcgan_ckpt: Path) -> None:
    svc = RenderService(dcgan_ckpt, threads=0)
    with pytest.raises(ValueError, match="unconditional"):
        svc.render_z(svc.z(0), 1)
    with pytest.raises(ValueError, match="16 values"):
        svc.render_z(np.zeros(3, np.float32))


def test_thread_safe_concurrent_renders(dcgan_ckpt: Path) -> None:
    svc = RenderService(dcgan_ckpt, threads=0)
    expected = {s: svc.render(s) for s in range(4)}
    errors: list[str] = []

    def worker(seed: int) -> None:
        for _ in range(5):
            if not np.array_equal(svc.render(seed), expected[seed]):
                errors.append(f"seed {seed} changed")

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_directions_are_cached(acgan_ckpt: Path) -> None:
    svc = RenderService(acgan_ckpt, threads=0)
    d = svc.directions(4)
    assert d.vectors.shape == (4, 16) and svc.directions(4) is d


def test_recipe_batches_match_lone_renders(acgan_ckpt: Path) -> None:
    """render_recipes(batch=1) is exactly render_recipe (animation frames); bigger batches (grids) agree
    within one grey level, also when plain classes and class blends share a batch."""
    svc = RenderService(acgan_ckpt, threads=0)
    r = Recipe(checkpoint="ac", seed_a=11, seed_b=12, class_a=0, class_b=2, psi=0.8)
    cells = [r.replace(t=t, mix=m) for t in (0.0, 0.3, 1.0) for m in (0.0, 0.5)]
    alone = np.stack([svc.render_recipe(c) for c in cells])
    assert alone.shape == (6, 32, 32, 1) and len({a.tobytes() for a in alone}) == 6
    assert np.array_equal(svc.render_recipes(cells, batch=1), alone)
    batched = svc.render_recipes(cells, batch=4)
    assert batched.shape == alone.shape and np.abs(batched.astype(int) - alone.astype(int)).max() <= 1
    with pytest.raises(ValueError, match="at least 1"):
        svc.render_recipes(cells, batch=0)
    with pytest.raises(RecipeError, match="class_a must be between 0 and 2"):
        svc.render_recipes([r.replace(class_a=5)])
