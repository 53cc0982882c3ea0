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
