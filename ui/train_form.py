"""The Train page's form as RunConfig options (pure: dicts in, a RunConfig out).

Every option has a session key `t_<field name>` (unique across sections); the two widgets that
show an option differently are mapped here (DiffAugment as a list of ops; the ACGAN class loss
as "real-only", the inverse of train.aux_on_fake). A new option needs no code here: it is in
the form's values with its default, and gets a widget only if the page draws one.
"""

from __future__ import annotations

from typing import Any, Mapping

from gan_core import presets  # noqa: F401  (the page reaches the presets through this adapter)
from gan_core.config import (ARCHS, DEVICES, DIFFAUG_OPS, G_OUTPUTS, G_UPSAMPLES, IMAGE_SIZES, LOSSES, PACKS,  # noqa: F401  (choices)
                             R3GAN_ONLY, RunConfig, build_run_config, check_dataset, dataset_warnings, options,
                             steps_for_epochs)
from gan_core.errors import ConfigError  # noqa: F401
from gan_core.schedule import PLATEAU_GAIN, PLATEAU_NEAR  # noqa: F401  (the page's help text)

DIFFAUG_WIDGET = "t_diffaug_ops"
REAL_ONLY_WIDGET = "t_aux_real_only"
NOT_IN_FORM = ("data.source",)  # the dataset has its own selector
APP_DEFAULTS = {"train.guard": True}  # where the app starts from other defaults than the CLI


def widget_key(key: str) -> str:
    """"train.lr_g" -> "t_lr_g"."""
    return "t_" + key.split(".", 1)[1]


def to_widgets(values: Mapping[str, Any]) -> dict[str, Any]:
    """Session values of the form's widgets for options by dotted name."""
    out: dict[str, Any] = {}
    for key, v in values.items():
        if key in NOT_IN_FORM:
            continue
        if key == "train.diffaug":
            out[DIFFAUG_WIDGET] = [op for op in str(v).split(",") if op]
        elif key == "train.aux_on_fake":
            out[REAL_ONLY_WIDGET] = not v
        else:
            out[widget_key(key)] = v
    return out


def from_widgets(state: Mapping[str, Any]) -> dict[str, Any]:
    """Options by dotted name from the widgets' session values (defaults where a key is missing)."""
    values: dict[str, Any] = {}
    for o in options():
        if o.key in NOT_IN_FORM:
            continue
        if o.key == "train.diffaug":
            values[o.key] = ",".join(state.get(DIFFAUG_WIDGET, o.default.split(",") if o.default else []))
        elif o.key == "train.aux_on_fake":
            values[o.key] = not state.get(REAL_ONLY_WIDGET, not o.default)
        else:
            values[o.key] = state.get(widget_key(o.key), APP_DEFAULTS.get(o.key, o.default))
    return values


def build(values: Mapping[str, Any], source: str, *, judged: bool, epochs: float = 0.0,
          num_images: int | None = None, num_classes: int | None = None) -> RunConfig:
    """The run the form describes (ConfigError naming the field otherwise). Options whose widget
    is disabled keep their value in the form but do not apply: the class-loss options for DCGAN,
    `R3GAN_ONLY` for the other models, R1 with WGAN-GP (it has its own penalty), judge evaluation for datasets without a judge.
    `epochs` > 0 sets the steps from the dataset's image count; the dataset's counts (None: not
    known) are checked by the library's one dataset rule."""
    v = dict(values, **{"data.source": source})
    defaults = {o.key: o.default for o in options()}
    off = []
    if v.get("model.arch") not in ("acgan", "r3gan"):
        off += ["train.aux_weight", "train.aux_on_fake"]
    if v.get("model.arch") != "r3gan":
        off += list(R3GAN_ONLY)
    if v.get("train.loss") == "wgan-gp":
        off.append("train.r1_gamma")
    if not judged:
        off += ["train.eval_every", "train.eval_decay"]
    v.update({k: defaults[k] for k in off})
    if epochs > 0 and num_images:
        v["train.steps"] = steps_for_epochs(epochs, num_images, int(v.get("train.batch_size") or 1))
    cfg = build_run_config(v)
    check_dataset(cfg.model.arch, num_images, num_classes, batch_size=cfg.train.batch_size)
    return cfg
