"""The configuration: published defaults in one YAML file, parsed once into typed sections."""

from dataclasses import fields

import pytest
import yaml

from webweave.pipelines.config import (
    Config,
    ConfigError,
    default_config,
    dump_config,
    load_config,
)
from webweave.schemas.config import default_values


def test_defaults_load_and_carry_published_values():
    config = default_config()
    assert config.config_version == 1
    assert config.run.parquet_compression == "zstd"
    assert config.commoncrawl.base_url == "https://data.commoncrawl.org/"
    assert config.text_filters.paragraph.number_words_min == 4  # OBELICS
    assert config.dedup.minhash_bands == 14  # FineWeb


def test_user_file_overrides_a_subset(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("run:\n  shard_rows: 7\nextraction:\n  time_budget_seconds: 1\n")
    config = load_config(path)
    assert config.run.shard_rows == 7
    assert config.run.parquet_compression == "zstd"  # untouched sibling
    assert config.extraction.time_budget_seconds == 1.0
    assert isinstance(config.extraction.time_budget_seconds, float)


@pytest.mark.parametrize(
    "text, message",
    [
        ("run:\n  shard_rowz: 7\n",
         "unknown config key 'run.shard_rowz' (did you mean 'shard_rows'?)"),
        ("run:\n  shard_rows: '7'\n", "run.shard_rows = '7': must be an integer"),
        ("extraction:\n  keep_lists: no_thanks\n",
         "extraction.keep_lists = 'no_thanks': must be true or false"),
        ("run: 3\n", "run = 3: must be a mapping"),
        ("commoncrawl:\n  base_url: 3\n", "commoncrawl.base_url = 3: must be a string"),
        # Ranges: every value is checked, the message names key, value, range and file.
        ("dedup:\n  minhash_bands: -3\n", "dedup.minhash_bands = -3: must be >= 1"),
        ("extraction:\n  max_dom_depth: -1\n", "extraction.max_dom_depth = -1: must be >= 1"),
        ("run:\n  shard_rows: 0\n", "run.shard_rows = 0: must be >= 1"),
        ("text_filters:\n  paragraph:\n    stopword_ratio_min: 1.5\n",
         "text_filters.paragraph.stopword_ratio_min = 1.5: must be between 0.0 and 1.0"),
        ("text_filters:\n  document:\n    flagged_word_ratio_max: -0.1\n",
         "text_filters.document.flagged_word_ratio_max = -0.1: must be between 0.0 and 1.0"),
        ("shuffle:\n  mode: fast\n",
         "shuffle.mode = 'fast': must be one of 'auto', 'beam', 'disk'"),
        ("warc:\n  block_digest_mismatch: ignore\n", "warc.block_digest_mismatch = 'ignore'"),
        ("text_filters:\n  paragraph:\n    number_words_min: 50\n    number_words_max: 10\n",
         "text_filters.paragraph: number_words_min is above number_words_max"),
        ("text_filters:\n  document:\n    gopher_top_ngram_char_fraction_max: [0.2]\n",
         "gopher_top_ngram_char_fraction_max needs 3 values"),
        ("dedup:\n  max_removed_fraction: 0\n", "dedup.max_removed_fraction = 0: must be > 0.0"),
        ("run:\n  shard_rows: [\n", "not valid YAML at line"),
        ("- a\n- b\n", "the top level must be a mapping"),
    ],
)  # fmt: skip
def test_typos_wrong_types_and_ranges_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    line = str(error.value)
    assert message in line
    assert line.startswith(f"{path}: ") and "\n" not in line


def test_dump_round_trips():
    config = load_config(overrides={"run": {"shard_rows": 3}})
    assert load_config(overrides=yaml.safe_load(dump_config(config))) == config
    assert yaml.safe_load(dump_config(config))["run"]["shard_rows"] == 3


def test_every_yaml_key_is_consumed_and_every_typed_field_has_a_yaml_default():
    """The defaults file and the typed sections name exactly the same keys: the dump of the
    parsed defaults is the defaults file's own values, key for key, in the file's order."""
    values = default_values()
    typed = {item.name for item in fields(Config)}
    assert set(values) == typed, "a YAML section without a typed field, or the reverse"
    parsed = default_config()
    assert yaml.safe_load(dump_config(parsed)) == values
    assert dump_config(parsed) == yaml.safe_dump(values, sort_keys=False, allow_unicode=True)


def test_sections_are_frozen_and_typed():
    config = default_config()
    with pytest.raises(AttributeError):
        config.run.shard_rows = 5  # type: ignore[misc]
    assert isinstance(config.text_filters.document.languages, tuple)
    assert config.text_filters.paragraph.replace(number_words_min=5).number_words_min == 5
