"""The r3gan networks: shapes at every size, the class interfaces the panel uses, no normalisation
layers, residual blocks that start as the identity, and a D that can be differentiated twice."""

import numpy as np
import pytest
import torch
import torch.nn as nn

from gan_core.config import G_UPSAMPLES, ModelConfig
from gan_core.networks import build_discriminator, build_generator, for_inference
from gan_core.networks.upsample_conv import UpsampleConv3x3
from gan_core.networks.r3gan import ResBlock, stage_widths
from gan_core.training import recalibrate_batchnorm


def cfg(size: int = 32, k: int = 0, c: int = 1, up: str = "bilinear", out: str = "tanh") -> ModelConfig:
    return ModelConfig(arch="r3gan", image_size=size, channels=c, nz=8, ngf=8, ndf=8, num_classes=k, g_upsample=up,
                       g_output=out)


@pytest.mark.parametrize("size", [32, 64, 128])
@pytest.mark.parametrize("k", [0, 3])
@pytest.mark.parametrize("up", G_UPSAMPLES)
def test_shapes_at_every_size(size: int, k: int, up: str) -> None:
    g, d = build_generator(cfg(size, k, 3, up)), build_discriminator(cfg(size, k, 3))
    n_up = size.bit_length() - 3  # 4 px -> size
    assert sum(isinstance(m, UpsampleConv3x3) for m in g.modules()) == (n_up if up == "conv" else 0)
    z = torch.randn(2, 8)
    y = torch.tensor([0, 2]) if k else None
    x = g(z, y) if k else g(z)
    assert x.shape == (2, 3, size, size)
    out, scores = d(x, y)
    assert out.shape == (2,)
    assert (scores is None) == (k == 0) and (k == 0 or scores.shape == (2, k))


def test_widths_follow_the_stated_rule() -> None:
    w = stage_widths(64, 64)
    assert sorted(w) == [4, 8, 16, 32, 64]
    assert w[16] == 64 and w[8] == w[4] == 128 and w[32] == 32 and w[64] == 16
    assert min(stage_widths(4, 128).values()) == 16


def test_min_width_raises_the_thin_stages_of_both_networks_only() -> None:
    from gan_core.errors import ConfigError

    assert stage_widths(32, 64, 32) == {4: 64, 8: 64, 16: 32, 32: 32, 64: 32}
    assert stage_widths(32, 64) == {4: 64, 8: 64, 16: 32, 32: 16, 64: 16}
    wide = ModelConfig(arch="r3gan", image_size=64, channels=1, nz=8, ngf=32, ndf=32, num_classes=3, min_width=32)
    g, d = build_generator(wide), build_discriminator(wide)
    assert g.to_image.in_channels == 32 and g.blocks[-1].spatial.out_channels == 32
    assert d.from_image.out_channels == 32 and d.blocks[1].spatial.out_channels == 32  # the 32 px stage
    y = torch.tensor([0, 2])
    assert d(g(torch.randn(2, 8), y), y)[0].shape == (2,)
    with pytest.raises(ConfigError, match="min_width is an r3gan option"):
        ModelConfig(arch="dcgan", image_size=64, min_width=32)
    with pytest.raises(ConfigError, match="min_width must be between"):
        ModelConfig(arch="r3gan", image_size=64, min_width=0)


def test_ndf_defaults_to_64_for_r3gan() -> None:
    assert ModelConfig(arch="r3gan", image_size=32).ndf == 64


def test_no_normalisation_layers_and_batchnorm_recalibration_skips() -> None:
    g = build_generator(cfg(32, 3))
    norms = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm, nn.InstanceNorm2d)
    for net in (g, build_discriminator(cfg(32, 3))):
        assert not any(isinstance(m, norms) for m in net.modules())
    before = {k: v.clone() for k, v in g.state_dict().items()}
    recalibrate_batchnorm(g, 8, 3, torch.device("cpu"))
    assert all(torch.equal(before[k], v) for k, v in g.state_dict().items())


def test_residual_block_starts_as_identity_and_learns() -> None:
    block = ResBlock(32)
    x = torch.randn(2, 32, 4, 4)
    assert torch.equal(block(x), x)
    block(x).pow(2).sum().backward()
    assert block.contract.weight.grad.abs().sum() > 0  # the zero branch still gets a gradient


def test_class_embedding_input_matches_labels_and_classes_matter() -> None:
    torch.manual_seed(0)
    g = build_generator(cfg(32, 3)).eval()
    with torch.no_grad():  # the basis reads the class directly; make it matter before comparing
        g.basis.weight.normal_()
    z = torch.randn(4, 8)
    y = torch.tensor([0, 1, 2, 1])
    assert torch.allclose(g(z, y), g(z, class_embedding=g.embed(y)))
    assert not torch.allclose(g(z, y), g(z, torch.tensor([1, 2, 0, 0])))
    with pytest.raises(ValueError, match="class-conditional"):
        g(z)
    with pytest.raises(ValueError, match="unconditional"):
        build_generator(cfg(32, 0))(z, y)


def test_projection_adds_the_class_score_of_the_given_label() -> None:
    torch.manual_seed(0)
    d = build_discriminator(cfg(32, 3))
    x = torch.randn(3, 1, 32, 32)
    y = torch.tensor([2, 0, 1])
    plain, scores = d(x)
    with_y, _ = d(x, y)
    assert torch.allclose(with_y - plain, scores[torch.arange(3), y], atol=1e-6)


def test_d_can_be_differentiated_twice_for_penalties() -> None:
    d = build_discriminator(cfg(32, 3))
    x = torch.randn(2, 1, 32, 32, requires_grad=True)
    (grad,) = torch.autograd.grad(d(x, torch.tensor([0, 1]))[0].sum(), x, create_graph=True)
    grad.pow(2).sum().backward()
    for layer in (d.from_image, d.features, d.class_emb):  # the penalty trains D's layers
        assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("up", G_UPSAMPLES)
def test_channels_last_gives_the_same_images_and_inference_copy_matches(up: str) -> None:
    torch.manual_seed(0)
    g = build_generator(cfg(64, 3, 3, up)).eval()
    for m in g.modules():  # non-zero residual branches, so every layer shows in the output
        if isinstance(m, ResBlock):
            nn.init.normal_(m.contract.weight, 0, 0.05)
    z, y = torch.randn(3, 8), torch.tensor([0, 1, 2])
    with torch.no_grad():
        a = g(z, y)
        b = g.to(memory_format=torch.channels_last)(z, y)
        c = for_inference(g)(z, y)
    assert torch.allclose(a, b, atol=1e-5) and torch.allclose(a, c, atol=1e-6)
    assert not np.allclose(a[0].numpy(), a[1].numpy())


@pytest.mark.parametrize("c", [1, 3])
def test_g_output_tanh_squashes_the_linear_image_and_keeps_the_channels_last_layout(c: int) -> None:
    """tanh is the linear generator's image through tanh (same weights); a 1-channel image keeps
    the NHWC strides D's convs run fastest on, which a plain tanh would drop."""
    torch.manual_seed(0)
    lin = build_generator(cfg(32, 3, c, out="linear")).eval()
    with torch.no_grad():
        lin.to_image.weight.mul_(50.0)  # an image well outside [-1, 1]
    tanh = build_generator(cfg(32, 3, c, out="tanh")).eval()
    tanh.load_state_dict(lin.state_dict())  # the option adds no weights
    z, y = torch.randn(4, 8), torch.tensor([0, 1, 2, 0])
    with torch.no_grad():
        a, b = lin(z, y), tanh(z, y)
    assert a.abs().max() > 1.5 and b.abs().max() < 1.0
    assert torch.allclose(b, torch.tanh(a), atol=1e-6)
    for g in (lin, tanh):
        g.to(memory_format=torch.channels_last)
    x = tanh(z, y)
    assert x.stride(1) == 1 and x.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(x, b, atol=1e-5)
    x.sum().backward()  # the re-strided image still carries G's gradients
    assert tanh.to_image.weight.grad.abs().sum() > 0


def test_minibatch_stddev_measures_the_spread_within_each_group() -> None:
    from gan_core.networks.r3gan import minibatch_stddev

    same = torch.ones(8, 3, 4, 4)  # eight identical images: no spread
    varied = torch.randn(8, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    out_same, out_varied = minibatch_stddev(same, 4), minibatch_stddev(varied, 4)
    assert out_same.shape == out_varied.shape == (8, 4, 4, 4)
    assert torch.equal(out_same[:, :3], same)  # the images' own channels pass through
    assert out_same[:, 3].abs().max() < 1e-3 < out_varied[:, 3].min()
    # groups are images i, i + B/g, ...: a collapsed group scores low however the others vary
    mixed = varied.clone()
    mixed[0::2] = varied[0]  # images 0, 2, 4, 6 (group 0 of 2 groups of 4) are one picture
    extra = minibatch_stddev(mixed, 4)[:, 3, 0, 0]
    assert torch.allclose(extra[0::2], torch.full((4,), float(extra[0]))) and extra[0] < 1e-3 < float(extra[1])
    # a batch the group size does not divide uses the largest divisor; one image, no spread
    assert minibatch_stddev(varied[:6], 4).shape == (6, 4, 4, 4)
    assert float(minibatch_stddev(varied[:1], 4)[:, 3].abs().max()) == 0.0


def test_minibatch_stddev_is_an_r3gan_option_that_changes_only_ds_features_layer() -> None:
    from gan_core.errors import ConfigError

    plain = build_discriminator(cfg(32, 3))
    with_std = build_discriminator(ModelConfig(arch="r3gan", image_size=32, channels=1, nz=8, ngf=8, ndf=8,
                                               num_classes=3, d_mbstd=4))
    differ = {k for k, v in plain.state_dict().items() if with_std.state_dict()[k].shape != v.shape}
    assert differ == {"features.weight"}
    out, _ = with_std(torch.randn(8, 1, 32, 32), torch.zeros(8, dtype=torch.long))
    assert out.shape == (8,)
    with pytest.raises(ConfigError, match="d_mbstd"):
        ModelConfig(arch="acgan", image_size=32, num_classes=2, d_mbstd=4)
    with pytest.raises(ConfigError, match="d_mbstd"):
        ModelConfig(arch="r3gan", image_size=32, d_mbstd=1)
