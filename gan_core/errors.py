"""Errors a user can cause. Each carries one readable line; CLIs print it without a traceback."""

from __future__ import annotations


class GanStudioError(Exception):
    """Base class for problems caused by input (data, flags, checkpoints), not by bugs."""


class DatasetError(GanStudioError):
    """The dataset cannot be used (missing path, nothing decodable, wrong layout...)."""


class ArchiveError(DatasetError):
    """An uploaded archive is unsafe or unreadable (zip bomb, path traversal, corrupt zip)."""


class CheckpointError(GanStudioError):
    """A checkpoint folder is missing, unsafe (pickle), or does not match its config."""


class ConfigError(GanStudioError):
    """An option or a config.json holds an invalid value.

    `field` names the option it concerns, dotted as in config.json ("train.lr_g"), so a form
    can show the message under that field's widget; "" when no single field is at fault."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class TrainingError(GanStudioError):
    """Training cannot go on (NaN loss, nothing to resume from...)."""
