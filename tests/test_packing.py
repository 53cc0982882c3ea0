"""Packing (PacGAN): D judges groups of model.d_pack images; labelled groups are of one class."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from gan_core import presets
from gan_core.batches import BatchSource
from gan_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from gan_core.errors import ConfigError
from gan_core.networks.r3gan import R3GANDiscriminator
from gan_core.packing import class_groups, group_labels, pack, share_class
from gan_core.runs import RunDir
from gan_core.training import Trainer

RECIPE = dict(loss="rpgan", r1_gamma=0.5, r2_gamma=0.5, r1_every=2, beta1=0.0, beta2=0.99,
              ema_halflife_kimg=0.05, mode_seeking=0.3)


def tiny(k: int = 4, steps: int = 6, p: int = 2, **train) -> RunConfig:
    t = dict(steps=steps, batch_size=8, log_every=2, sample_every=3, ckpt_every=3, precision="fp32", **RECIPE)
    t.update(train)
    return RunConfig(ModelConfig(arch="r3gan", image_size=32, channels=1, nz=8, ngf=8, ndf=8, num_classes=k,
                                 d_pack=p), DataConfig(source="synthetic"), TrainConfig(**t))


def data(n: int = 64, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rs = np.random.RandomState(0)
    labels = rs.randint(0, k - 1, n)
    labels[-1] = k - 1  # a class with a single image: its groups are filled up with that image
    return rs.randint(0, 256, (n, 32, 32, 1), dtype=np.uint8), labels


def test_pack_stacks_consecutive_images_along_the_channels_in_either_layout() -> None:
    x = torch.arange(4 * 3 * 2 * 2, dtype=torch.float32).view(4, 3, 2, 2)
    y = pack(x, 2)
    assert y.shape == (2, 6, 2, 2)
    assert torch.equal(y[1, :3], x[2]) and torch.equal(y[1, 3:], x[3])
    cl = pack(x.contiguous(memory_format=torch.channels_last), 2, channels_last=True)
    assert torch.equal(cl, y) and cl.is_contiguous(memory_format=torch.channels_last)
    assert pack(x, 1) is x
    with pytest.raises(ValueError, match="groups of 4"):
        pack(x[:3], 4)
    assert torch.equal(group_labels(torch.tensor([5, 5, 2, 2]), 2), torch.tensor([5, 2]))


def test_share_class_gives_each_run_its_first_label() -> None:
    y = share_class(torch.tensor([3, 1, 0, 2, 1, 1, 2, 0]), 4)
    assert y.tolist() == [3, 3, 3, 3, 1, 1, 1, 1]


def test_class_groups_cut_each_class_and_fill_its_last_group_from_more() -> None:
    items = torch.arange(10, 17)  # 7 items
    labels = torch.tensor([1, 0, 1, 1, 0, 2, 1])
    asked = []

    def more(c: int, n: int) -> torch.Tensor:
        asked.append((c, n))
        return torch.full((n,), 100 + c)

    g = class_groups(items, labels, 2, more)
    assert g.tolist() == [[11, 14], [10, 12], [13, 16], [15, 102]]
    assert asked == [(2, 1)]  # only the class with an odd count was filled up


def test_a_grouped_batch_has_one_class_per_group_drawn_from_the_dataset() -> None:
    images, labels = data()
    images[:, 0, 0, 0] = np.arange(len(images))  # each image carries its index in a pixel
    src = BatchSource(images, labels, 8, seed=0, device=torch.device("cpu"))
    gen = torch.Generator().manual_seed(0)
    seen = 0
    for _ in range(20):
        x, y = src.next(gen, group=2)
        assert x.shape == (8, 1, 32, 32) and torch.equal(y[0::2], y[1::2])
        idx = torch.round((x[:, 0, 0, 0] + 1) * 127.5).long()
        assert torch.equal(torch.from_numpy(labels)[idx], y)  # each image is its label's
        seen += int((y == 3).sum())
    assert seen % 2 == 0  # the one-image class comes as a pair of that image
    plain = BatchSource(images, labels, 8, seed=0, device=torch.device("cpu"))
    _, y = plain.next(torch.Generator().manual_seed(0))
    assert not torch.equal(y[0::2], y[1::2])  # without grouping, the permutation's order


def test_a_packed_d_reads_groups_and_its_step_is_cheaper() -> None:
    cfg = ModelConfig(arch="r3gan", image_size=32, channels=3, nz=8, ngf=8, ndf=8, num_classes=3, d_pack=2)
    d = R3GANDiscriminator(cfg)
    assert d.from_image.in_channels == 6
    out, cls = d(torch.randn(4, 6, 32, 32), torch.tensor([0, 2, 1, 1]))
    assert out.shape == (4,) and cls.shape == (4, 3)


@pytest.mark.parametrize("k", [4, 0])
def test_a_packed_run_trains_logs_its_class_reading_and_resumes_exactly(tmp_path: Path, k: int) -> None:
    images, labels = data()
    if k == 0:
        labels = np.zeros_like(labels)
    tr = Trainer(tiny(k), images, labels, None)
    if k:
        _, y = tr._sample_z()
        assert torch.equal(y[0::2], y[1::2])
    stats = tr.train_step()
    assert ("acc_real" in stats) == bool(k)
    full, half = RunDir(tmp_path / "full"), RunDir(tmp_path / "half")
    full.create(tiny(k, 6))
    assert Trainer(tiny(k, 6), images, labels, full).run() == "finished"
    rows = full.read_metrics()
    assert ("class_agreement" in rows[-1]) == bool(k)
    if k:
        assert 0.0 <= rows[-1]["class_agreement"] <= 1.0
    half.create(tiny(k, 3))
    Trainer(tiny(k, 3), images, labels, half).run()
    resumed = Trainer(tiny(k, 6), images, labels, half)
    resumed.load_checkpoint(half.checkpoint("latest"))
    resumed.run(6)
    for f in ("generator.safetensors", "generator_ema.safetensors", "discriminator.safetensors"):
        a, b = load_file(str(full.checkpoint() / f)), load_file(str(half.checkpoint() / f))
        assert a.keys() == b.keys() and all(torch.equal(a[x], b[x]) for x in a), f


def test_groups_of_four_keep_the_mode_seeking_pairs_inside_them() -> None:
    images, labels = data()
    tr = Trainer(tiny(4, p=4), images, labels, None)
    _, y = tr._sample_z()
    assert all(len(set(y[i:i + 4].tolist())) == 1 for i in range(0, 8, 4))
    assert "mode_seeking" in tr.train_step()


def test_the_pack_is_checked_against_the_arch_and_the_batch() -> None:
    with pytest.raises(ConfigError, match="d_pack"):
        ModelConfig(arch="acgan", image_size=32, num_classes=2, d_pack=2)
    with pytest.raises(ConfigError, match="d_pack"):
        ModelConfig(arch="r3gan", image_size=32, d_pack=3)
    with pytest.raises(ConfigError, match="groups of 4"):
        tiny(4, p=4, batch_size=6)


def test_the_automatic_preset_packs_pairs_for_labelled_sets_at_32_px_only() -> None:
    assert presets.auto(presets.DataFacts(10_000, 10, 28)).values["model.d_pack"] == presets.RECIPE.d_pack[32] == 2
    assert presets.auto(presets.DataFacts(400, 40, 92)).values["model.d_pack"] == presets.RECIPE.d_pack[64]
    assert presets.auto(presets.DataFacts(10_000, 0, 28)).values["model.d_pack"] == 1  # unlabelled: not measured
    assert presets.auto(presets.DataFacts(1, 2, 28)).values["model.d_pack"] == 1  # a batch of 1 has no pairs
    assert "groups of 2 of one class" in presets.auto(presets.DataFacts(10_000, 10, 28)).summary
