"""One configuration file with published defaults; users override a subset.

The defaults live in ``default_config.yaml`` beside this module, with a comment per key naming
its source. ``load_config`` deep-merges a user's YAML over them and rejects unknown keys and
wrong types, so a typo cannot silently fall back to a default (OBELICS lesson: YAML 1.1
booleans such as ``no`` loaded as False).
"""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CONFIG_NAME = "default_config.yaml"


class ConfigError(ValueError):
    """The user's configuration does not match the published keys and types."""


def default_config() -> dict[str, Any]:
    text = resources.files("webweave.pipelines").joinpath(DEFAULT_CONFIG_NAME).read_text("utf-8")
    return yaml.safe_load(text)


def load_config(path: str | Path | None = None, overrides: dict | None = None) -> dict[str, Any]:
    """Defaults, then the file at ``path``, then ``overrides`` (a nested dict)."""
    config = default_config()
    if path is not None:
        with open(path, encoding="utf-8") as handle:
            user = yaml.safe_load(handle) or {}
        if not isinstance(user, dict):
            raise ConfigError(f"{path}: the top level must be a mapping")
        _merge(config, user, prefix="")
    if overrides:
        _merge(config, overrides, prefix="")
    return config


def load_section(cls, path: str | Path | None = None, overrides: dict | None = None):
    """One typed section (a ``webweave.schemas.config.Section`` subclass) of the effective
    config: defaults, then the file at ``path``, then ``overrides``; checked by ``cls.parse``."""
    config = load_config(path, overrides)
    return cls.parse(config[cls.yaml_name], cls.yaml_name, str(path or ""))


def dump_config(config: dict[str, Any]) -> str:
    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True)


def _merge(base: dict, update: dict, prefix: str) -> None:
    for key, value in update.items():
        where = f"{prefix}{key}"
        if key not in base:
            raise ConfigError(f"unknown config key {where!r}")
        current = base[key]
        if isinstance(current, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{where} must be a mapping, got {value!r}")
            _merge(current, value, prefix=f"{where}.")
        else:
            base[key] = _checked(where, current, value)


def _checked(where: str, default: Any, value: Any) -> Any:
    """Accept ``value`` only when its type matches the default's (ints widen to floats)."""
    if default is None or value is None:
        return copy.deepcopy(value)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
    elif isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        return float(value)
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer, got {value!r}")
    elif isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string (quote it in YAML), got {value!r}")
    elif isinstance(default, list):
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list, got {value!r}")
    return copy.deepcopy(value)
