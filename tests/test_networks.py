import pytest
import torch

from gan_core.config import ModelConfig
from gan_core.errors import ConfigError
from gan_core.networks import build_discriminator, build_generator
from gan_core.networks.dcgan import stage_multipliers


@pytest.mark.parametrize("arch,size", [("dcgan", 32), ("dcgan", 64), ("dcgan", 96), ("dcgan", 128),
                                       ("acgan", 32), ("acgan", 64)])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes(arch: str, size: int, channels: int) -> None:
    k = 7 if arch == "acgan" else 0
    cfg = ModelConfig(arch=arch, image_size=size, channels=channels, nz=12, ngf=8, ndf=8, num_classes=k)
    g, d = build_generator(cfg), build_discriminator(cfg)
    z = torch.randn(3, 12)
    labels = torch.tensor([0, 3, 6]) if k else None
    x = g(z, labels) if k else g(z)
    assert x.shape == (3, channels, size, size)
    assert x.min() >= -1 and x.max() <= 1  # Tanh output
    adv, cls = d(x)
    assert adv.shape == (3,)
    assert (cls is None) if not k else cls.shape == (3, k)


def test_dcgan64_is_the_tutorial_stack() -> None:
    g = build_generator(ModelConfig(arch="dcgan", image_size=64, channels=3))
    convs = [m for m in g.main if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(100, 512), (512, 256), (256, 128), (128, 64), (64, 3)]
    assert stage_multipliers(32) == [4, 2, 1] and stage_multipliers(128) == [16, 8, 4, 2, 1]


def test_96px_head_is_kernel5_stride3() -> None:
    g = build_generator(ModelConfig(arch="dcgan", image_size=96, channels=3))
    last = [m for m in g.main if isinstance(m, torch.nn.ConvTranspose2d)][-1]
    assert (last.kernel_size, last.stride, last.padding) == ((5, 5), (3, 3), (1, 1))


def test_discriminators_return_logits_not_probabilities() -> None:
    for arch in ("dcgan", "acgan"):
        d = build_discriminator(ModelConfig(arch=arch, image_size=32, channels=1, num_classes=3 if arch == "acgan" else 0))
        assert not any(isinstance(m, (torch.nn.Sigmoid, torch.nn.Softmax)) for m in d.modules())
        bns = [m for m in d.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        assert bns and all(m.eps == 1e-5 for m in bns)  # not the tutorial's eps=0.8


def test_init_is_normal_002() -> None:
    torch.manual_seed(0)
    g = build_generator(ModelConfig(arch="dcgan", image_size=64, channels=3))
    w = g.main[0].weight.detach()
    assert abs(float(w.std()) - 0.02) < 0.002 and abs(float(w.mean())) < 0.002


def test_acgan_class_embedding_blend_matches_labels() -> None:
    cfg = ModelConfig(arch="acgan", image_size=32, channels=1, nz=16, ngf=8, num_classes=4)
    g = build_generator(cfg).eval()
    z = torch.randn(2, 16)
    labels = torch.tensor([1, 2])
    with torch.no_grad():
        a = g(z, labels)
        b = g(z, class_embedding=g.embed(labels))
    assert torch.equal(a, b)


def test_bad_model_configs_are_refused() -> None:
    with pytest.raises(ConfigError, match="image sizes"):
        ModelConfig(arch="acgan", image_size=128)
    with pytest.raises(ConfigError, match="at least 2 classes"):
        ModelConfig(arch="acgan", image_size=32, num_classes=1)
    with pytest.raises(ConfigError, match="channels"):
        ModelConfig(channels=2)


def test_fused_upsample_conv_is_the_upsample_conv_pair() -> None:
    """UpsampleConv3x3 (one stride-2 transposed conv) computes conv3x3(upsample2x(x)): same
    values and same gradients for the 3x3 weights, bias and input."""
    from gan_core.networks.upsample_conv import UpsampleConv3x3

    torch.manual_seed(0)
    fused = UpsampleConv3x3(5, 7)
    plain = torch.nn.Conv2d(5, 7, 3, 1, 1)
    plain.load_state_dict(fused.state_dict())
    x1 = torch.randn(2, 5, 6, 6, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_(True)
    y1 = fused(x1)
    y2 = plain(torch.nn.functional.interpolate(x2, scale_factor=2, mode="nearest"))
    assert y1.shape == (2, 7, 12, 12) and torch.allclose(y1, y2, atol=1e-5)
    g = torch.randn_like(y1)
    (y1 * g).sum().backward()
    (y2 * g).sum().backward()
    assert torch.allclose(x1.grad, x2.grad, atol=1e-5)
    assert torch.allclose(fused.weight.grad, plain.weight.grad, atol=1e-4)
    assert torch.allclose(fused.bias.grad, plain.bias.grad, atol=1e-4)


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
@pytest.mark.parametrize("c_out", [1, 3])
def test_image_conv_matches_conv2d_values_and_gradients(c_out: int, layout: str) -> None:
    """ImageConv3x3's matrix-product path computes nn.Conv2d(c, k, 3, 1, 1): outputs and the
    gradients for input, weights and bias, including the border pixels (the zero padding), from
    either memory layout; the input's gradient comes back in the input's layout."""
    from gan_core.networks.image_conv import ImageConv3x3, _Conv3x3Matmul

    mf = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    torch.manual_seed(0)
    conv = ImageConv3x3(6, c_out)
    plain = torch.nn.Conv2d(6, c_out, 3, 1, 1)
    plain.load_state_dict(conv.state_dict())
    # odd, non-square maps catch swapped axes
    x1 = torch.randn(3, 6, 7, 5).contiguous(memory_format=mf).requires_grad_(True)
    x2 = x1.detach().clone().requires_grad_(True)
    assert conv._fast(x1)
    y1, y2 = conv(x1), plain(x2)
    assert y1.shape == (3, c_out, 7, 5) and torch.allclose(y1, y2, atol=1e-5)
    g = torch.randn_like(y1)
    (y1 * g).sum().backward()
    (y2 * g).sum().backward()
    assert torch.allclose(x1.grad, x2.grad, atol=1e-5)
    assert x1.grad.is_contiguous(memory_format=mf)
    assert torch.allclose(conv.weight.grad, plain.weight.grad, atol=1e-4)
    assert torch.allclose(conv.bias.grad, plain.bias.grad, atol=1e-4)
    # the hand-written backward against finite differences, in float64
    xd = torch.randn(2, 3, 4, 6, dtype=torch.float64).contiguous(memory_format=mf).requires_grad_(True)
    wd = torch.randn(c_out, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    bd = torch.randn(c_out, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(_Conv3x3Matmul.apply, (xd, wd, bd))
    # a second derivative through it is refused, not silently wrong
    gx, = torch.autograd.grad(_Conv3x3Matmul.apply(xd, wd, bd).square().sum(), xd, create_graph=True)
    with pytest.raises(RuntimeError):
        gx.sum().backward()


def test_image_conv_falls_back_to_the_convolution_where_it_is_not_faster() -> None:
    """bf16 autocast, a strided (sliced) input or many output channels take the plain
    convolution; every path gives the same image."""
    from gan_core.networks.image_conv import ImageConv3x3

    torch.manual_seed(0)
    conv = ImageConv3x3(6, 3)
    x = torch.randn(2, 6, 8, 8)
    ref = torch.nn.functional.conv2d(x, conv.weight, conv.bias, 1, 1)
    sliced = torch.randn(2, 6, 8, 16)[..., ::2]
    assert conv._fast(x) and not conv._fast(sliced)
    with torch.no_grad():
        assert torch.allclose(conv(sliced), torch.nn.functional.conv2d(sliced, conv.weight, conv.bias, 1, 1),
                              atol=1e-5)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert not conv._fast(x)
            assert torch.allclose(conv(x).float(), ref, atol=0.1)
    assert not ImageConv3x3(6, 8)._fast(x)


@pytest.mark.parametrize("size", [32, 64])
def test_acgan_generator_fused_and_plain_share_weights_and_outputs(size: int) -> None:
    """The fused generator loads the plain layout's state_dict (checkpoints saved before) and
    renders the same images."""
    from gan_core.networks.acgan import ACGANGenerator

    cfg = ModelConfig(arch="acgan", image_size=size, channels=1, nz=12, ngf=8, num_classes=4)
    plain = ACGANGenerator(cfg, fast_layers=False).eval()
    fused = build_generator(cfg).eval()
    assert fused.state_dict().keys() == plain.state_dict().keys()
    fused.load_state_dict(plain.state_dict())
    assert not any(isinstance(m, torch.nn.Upsample) for m in fused.modules())
    assert type(fused.conv_blocks[-2]).__name__ == "ImageConv3x3"
    assert type(plain.conv_blocks[-2]) is torch.nn.Conv2d
    z, y = torch.randn(3, 12), torch.tensor([0, 1, 3])
    assert torch.allclose(fused(z, y), plain(z, y), atol=1e-5)


def test_for_inference_builds_the_kernels_once_and_renders_the_same() -> None:
    """The rendering copy holds each fused layer's 4x4 kernel as a ConvTranspose2d; its images
    equal the generator's, and the generator itself is left as it was."""
    from gan_core.networks import for_inference
    from gan_core.networks.upsample_conv import UpsampleConv3x3

    cfg = ModelConfig(arch="acgan", image_size=64, channels=1, nz=12, ngf=8, num_classes=4)
    g = build_generator(cfg).train().to(memory_format=torch.channels_last)
    frozen = for_inference(g)
    assert g.training and sum(isinstance(m, UpsampleConv3x3) for m in g.modules()) == 3
    assert not frozen.training and not any(isinstance(m, UpsampleConv3x3) for m in frozen.modules())
    deconvs = [m for m in frozen.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert len(deconvs) == 3 and all(d.weight.is_contiguous(memory_format=torch.channels_last) for d in deconvs)
    z, y = torch.randn(3, 12), torch.tensor([0, 1, 3])
    with torch.no_grad():
        assert torch.allclose(frozen(z, y), g.eval()(z, y), atol=1e-5)
