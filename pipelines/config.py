"""One configuration file with published defaults, parsed once into typed, frozen sections.

The defaults live only in ``default_config.yaml`` beside this module, with a comment per key
naming its source. ``load_config`` deep-merges a user's YAML over them, rejects unknown keys,
and parses the result into ``Config``: one typed section per top-level key, each declared next
to the code it configures (``webweave.schemas.config`` explains the checks). A bad value is one
line naming the key, the value, what is allowed and the file; jobs receive the typed config
and never see a dict. ``dump_config`` writes it back as the run's ``config.yaml``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from webweave.annotation.config import ClipModelConfig, NightsConfig, RoundsConfig, TimedConfig
from webweave.filters.capfilt.config import CapFiltConfig
from webweave.filters.extraction import ExtractionOptions
from webweave.filters.record_selection import SelectionConfig
from webweave.filters.text.config import TextFilterConfig
from webweave.filters.warc_record import WarcConfig
from webweave.pipelines.commoncrawl import CommonCrawlConfig
from webweave.pipelines.dedup.config import DedupConfig
from webweave.pipelines.grouping import ShuffleConfig
from webweave.pipelines.images.config import ImagesConfig
from webweave.pipelines.parquet_shards import RunConfig
from webweave.schemas.config import ConfigError, Section, default_values

__all__ = ["Config", "ConfigError", "default_config", "dump_config", "load_config"]


@dataclass(frozen=True)
class Config(Section):
    """The whole job configuration: one field per top-level section of the YAML file."""

    config_version: int
    warc: WarcConfig
    selection: SelectionConfig
    extraction: ExtractionOptions
    text_filters: TextFilterConfig
    run: RunConfig
    shuffle: ShuffleConfig
    images: ImagesConfig
    commoncrawl: CommonCrawlConfig
    dedup: DedupConfig
    annotation_clip: ClipModelConfig
    nights: NightsConfig
    rounds: RoundsConfig
    timed: TimedConfig
    capfilt: CapFiltConfig


def merged_values(path: str | Path | None = None, overrides: dict | None = None) -> dict[str, Any]:
    """Defaults, then the file at ``path``, then ``overrides`` (a nested dict), as plain YAML
    values; unknown keys and non-mappings where a section is expected are errors."""
    values = default_values()
    source = str(path) if path is not None else ""
    if path is not None:
        _merge(values, read_yaml(path), prefix="", source=source)
    if overrides:
        _merge(values, overrides, prefix="", source="")
    return values


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A user's config file as a mapping; one-line ConfigError for anything else."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the config file ({error.strerror})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of config sections")
    return data


def load_config(path: str | Path | None = None, overrides: dict | None = None) -> Config:
    """The effective, checked configuration: defaults, the file at ``path``, ``overrides``."""
    values = merged_values(path, overrides)
    known = {f.name for f in fields(Config)}
    # Sections of the defaults file that no job has typed yet are kept out of ``Config``
    # (tests/test_config.py fails until each has a typed section).
    return Config.parse({k: v for k, v in values.items() if k in known}, "", str(path or ""))


def load_section(cls, path: str | Path | None = None, overrides: dict | None = None):
    """One typed section (a ``Section`` subclass with ``yaml_name``) of the effective config."""
    values: Any = merged_values(path, overrides)
    for key in cls.yaml_name.split("."):
        values = values[key]
    return cls.parse(values, cls.yaml_name, str(path or ""))


def default_config() -> Config:
    """The published defaults, typed."""
    return load_config()


def dump_config(config: Config | dict[str, Any]) -> str:
    """``config`` as the YAML of a run's ``config.yaml``."""
    data = config.to_dict() if isinstance(config, Section) else config
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _merge(base: dict, update: dict, prefix: str, source: str) -> None:
    for key, value in update.items():
        where = f"{prefix}{key}"
        if key not in base:
            close = [k for k in base if _close(str(key), str(k))]
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            located = f"{source}: " if source else ""
            raise ConfigError(f"{located}unknown config key {where!r}{hint}")
        current = base[key]
        if isinstance(current, dict) and isinstance(value, dict):
            _merge(current, value, prefix=f"{where}.", source=source)
        else:
            base[key] = copy.deepcopy(value)


def _close(a: str, b: str) -> bool:
    import difflib

    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.8
