from pathlib import Path

import pytest
import torch
import torch.nn as nn

from gan_core.convert import convert_tutorial, main
from gan_core.errors import CheckpointError
from gan_core.render import RenderService


class Generator(nn.Module):
    """The PyTorch DCGAN tutorial's Generator, written out the way that tutorial does."""

    def __init__(self, nz: int = 100, ngf: int = 8, nc: int = 3) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x)


def tutorial_generator() -> nn.Module:
    torch.manual_seed(0)
    g = Generator()
    for m in g.modules():  # give BatchNorm non-trivial statistics
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return g.eval()


@pytest.mark.parametrize("wrap", ["plain", "netG_state_dict", "module_prefix"])
def test_import_tutorial_generator(tmp_path: Path, wrap: str) -> None:
    g = tutorial_generator()
    sd = g.state_dict()
    if wrap == "netG_state_dict":
        obj = {"netG_state_dict": sd, "epoch": 5, "netD_state_dict": {"x": torch.zeros(1)}}
    elif wrap == "module_prefix":
        obj = {f"module.{k}": v for k, v in sd.items()}
    else:
        obj = sd
    torch.save(obj, tmp_path / "netG.pth")
    assert main(["--from-tutorial", str(tmp_path / "netG.pth"), "--out", str(tmp_path / "ck")]) == 0
    svc = RenderService(tmp_path / "ck", threads=0)
    assert (svc.cfg.image_size, svc.cfg.nz, svc.cfg.ngf, svc.cfg.channels) == (64, 100, 8, 3)
    z = torch.randn(2, 100)
    with torch.no_grad():
        expected = g(z[:, :, None, None])
        ours = svc.generator(z)
    assert torch.allclose(expected, ours, atol=1e-6)


def test_import_refuses_pickled_objects(tmp_path: Path) -> None:
    torch.save(tutorial_generator(), tmp_path / "whole_model.pth")  # a pickled nn.Module, not a state_dict
    with pytest.raises(CheckpointError, match="weights_only"):
        convert_tutorial(tmp_path / "whole_model.pth", tmp_path / "ck")


def test_import_refuses_non_dcgan_state(tmp_path: Path) -> None:
    torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "x.pth")
    with pytest.raises(CheckpointError, match="main.0.weight"):
        convert_tutorial(tmp_path / "x.pth", tmp_path / "ck")
