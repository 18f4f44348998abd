"""The typed shape of ``config.yaml``: frozen sections, checked once, defaults only in YAML.

Every section of the job configuration is a frozen dataclass deriving from ``Section``. Its
fields are the YAML keys, with their types and allowed ranges; their default values live in
one place only, ``pipelines/default_config.yaml``. ``Section.parse`` turns a mapping into the
section and rejects, in one line naming the key, the value, what is allowed and the file:

- an unknown key (a typo must not fall back to a default silently) and a missing key;
- a wrong type (``"yes"`` for a boolean, ``1.5`` for an integer; integers widen to floats);
- a value out of range, from the field's ``Annotated`` constraint (``Between``, ``AtLeast``,
  ``OneOf``) or ``Literal`` choices;
- a section's own cross-key rule (``check``: e.g. a minimum above its maximum).

Sections live next to the code they configure (``ExtractionOptions`` in
``filters/extraction.py``, ``DedupConfig`` in ``pipelines/dedup``); the root ``Config`` that
composes them is ``pipelines/config.py``. Stages receive their typed section, never a dict.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, ClassVar, TypeVar, get_args, get_origin, get_type_hints

import yaml

S = TypeVar("S", bound="Section")
# The one file with every default value (package data of webweave.pipelines, read as data).
DEFAULTS_PACKAGE, DEFAULTS_FILE = "webweave.pipelines", "default_config.yaml"


@cache
def default_text() -> str:
    """The text of ``pipelines/default_config.yaml``."""
    return resources.files(DEFAULTS_PACKAGE).joinpath(DEFAULTS_FILE).read_text("utf-8")


def default_values() -> dict[str, Any]:
    """The published defaults as plain YAML values (a fresh copy each call)."""
    return yaml.safe_load(default_text())


class ConfigError(ValueError):
    """A configuration value is not allowed; the message is one line for the user."""


# --------------------------------------------------------------------------------------------
# Constraints, attached to a field type with ``Annotated[float, Between(0, 1)]``.


@dataclass(frozen=True)
class Between:
    """``low <= value <= high`` (either bound may be None: open)."""

    low: float | None = None
    high: float | None = None

    def problem(self, value: Any) -> str | None:
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            return f"must be {self.describe()}"
        return None

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            return f"between {self.low} and {self.high}"
        if self.low is not None:
            return f">= {self.low}"
        return f"<= {self.high}"


def AtLeast(low: float) -> Between:  # noqa: N802 - reads as a type constraint
    return Between(low, None)


@dataclass(frozen=True)
class Above:
    """``value > low`` (a strictly positive size or duration)."""

    low: float

    def problem(self, value: Any) -> str | None:
        return None if value > self.low else f"must be > {self.low}"


@dataclass(frozen=True)
class NonEmpty:
    """A string or list with at least one element."""

    def problem(self, value: Any) -> str | None:
        return None if len(value) else "must not be empty"


# Common shapes of configuration values.
Ratio = typing.Annotated[float, Between(0.0, 1.0)]
Count = typing.Annotated[int, AtLeast(0)]
PositiveInt = typing.Annotated[int, AtLeast(1)]
Seconds = typing.Annotated[float, Above(0.0)]


# --------------------------------------------------------------------------------------------
# Sections.


@dataclass(frozen=True)
class Section:
    """Base of every config section (a frozen dataclass whose fields are its YAML keys)."""

    # Name of the section in the YAML file (for messages); set by each subclass.
    yaml_name: ClassVar[str] = ""

    @classmethod
    def parse(cls: type[S], data: Any, where: str = "", source: str = "") -> S:
        """Build the section from a mapping of exactly its keys (checked as the module says).

        ``where`` is the dotted key prefix (``text_filters.paragraph``), ``source`` the file
        the values came from; both only shape error messages.
        """
        where = where or cls.yaml_name
        if not isinstance(data, Mapping):
            raise _error(source, where, data, "must be a mapping")
        hints = _hints(cls)
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(names), key=str)
        if unknown:
            key, hint = _dotted(where, unknown[0]), _suggest(unknown[0], names)
            raise ConfigError(_located(source, f"unknown config key {key!r}{hint}"))
        missing = [name for name in names if name not in data]
        if missing:
            key = _dotted(where, missing[0])
            raise ConfigError(_located(source, f"config key {key!r} is missing"))
        values = {
            name: _convert(data[name], hints[name], _dotted(where, name), source) for name in names
        }
        section = cls(**values)
        problem = section.check()
        if problem is not None:
            raise ConfigError(_located(source, f"{where}: {problem}"))
        return section

    def check(self) -> str | None:
        """A rule across keys of this section; the problem in words, or None when it holds."""
        return None

    @classmethod
    def default(cls: type[S]) -> S:
        """The section with the published defaults of ``default_config.yaml``."""
        return _default(cls)

    def to_dict(self) -> dict[str, Any]:
        """The section as plain YAML values (what ``config.yaml`` and fingerprints hold)."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def replace(self: S, **changes: Any) -> S:
        """A copy with ``changes`` (typed values), checked again like a parsed section."""
        merged = {**self.to_dict(), **{k: _plain(v) for k, v in changes.items()}}
        return type(self).parse(merged, self.yaml_name or type(self).__name__)


@cache
def _default(cls: type[S]) -> S:
    data: Any = default_values()
    for key in cls.yaml_name.split("."):
        data = data[key]
    return cls.parse(data, cls.yaml_name, DEFAULTS_FILE)


def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls, include_extras=True)


def _dotted(where: str, key: str) -> str:
    return f"{where}.{key}" if where else str(key)


def _located(source: str, message: str) -> str:
    return f"{source}: {message}" if source else message


def _error(source: str, where: str, value: Any, problem: str) -> ConfigError:
    return ConfigError(_located(source, f"{where} = {_show(value)}: {problem}"))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _suggest(key: str, names: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(str(key), names, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _plain(value: Any) -> Any:
    if isinstance(value, Section):
        return value.to_dict()
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _convert(value: Any, hint: Any, where: str, source: str, constraints: tuple = ()) -> Any:
    """``value`` checked and converted to ``hint`` (see the module docstring)."""
    if get_origin(hint) is typing.Annotated:
        hint, *extra = get_args(hint)
        constraints = (*constraints, *extra)
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = get_args(hint)
        if value is None:
            if type(None) in options:
                return None
            raise _error(source, where, value, "must not be null")
        hint = next(o for o in options if o is not type(None))
        return _convert(value, hint, where, source, constraints)
    converted = _convert_plain(value, hint, where, source)
    for constraint in constraints:
        problem = constraint.problem(converted)
        if problem is not None:
            raise _error(source, where, value, problem)
    return converted


def _convert_plain(value: Any, hint: Any, where: str, source: str) -> Any:
    origin = get_origin(hint)
    if isinstance(hint, type) and issubclass(hint, Section):
        return hint.parse(value, where, source)
    if origin is typing.Literal:
        choices = get_args(hint)
        if value not in choices or isinstance(value, bool) != isinstance(choices[0], bool):
            allowed = ", ".join(repr(c) for c in choices)
            raise _error(source, where, value, f"must be one of {allowed}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise _error(source, where, value, "must be true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _error(source, where, value, "must be an integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _error(source, where, value, "must be a number")
        if not math.isfinite(value):
            raise _error(source, where, value, "must be a finite number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise _error(source, where, value, "must be a string (quote it in YAML)")
        return value
    if origin in (tuple, frozenset, list):
        if not isinstance(value, list | tuple):
            raise _error(source, where, value, "must be a list")
        args = get_args(hint)
        item = args[0] if args else Any
        items = [
            _convert(v, item, f"{where}[{i}]", source) if item is not Any else v
            for i, v in enumerate(value)
        ]
        return frozenset(items) if origin is frozenset else tuple(items)
    if origin is dict or hint is dict:
        if not isinstance(value, Mapping):
            raise _error(source, where, value, "must be a mapping")
        return dict(value)
    if hint is Any:
        return value
    raise TypeError(f"config field {where}: unsupported type {hint!r}")  # a bug, not user input
