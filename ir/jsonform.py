"""The checks every ``from_dict`` of the data model shares (JSON objects read strictly)."""

from __future__ import annotations

from spikeforge.ir.errors import ConfigError


def json_type(value) -> str:
    """How a JSON value's type reads in an error message ("a string", "null", ...)."""
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def check_fields(d, names, what: str) -> None:
    """``d`` is an object with exactly the fields ``names``: raises :class:`ConfigError`
    naming ``what`` (not an object), the first unknown field or the first missing one."""
    if not isinstance(d, dict):
        raise ConfigError(f"{what}: must be an object, got {json_type(d)}")
    for key in d:
        if key not in names:
            raise ConfigError(f"{key}: unknown field (a typo, or a newer format?)")
    for name in names:
        if name not in d:
            raise ConfigError(f"{name}: missing")
