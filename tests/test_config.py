import pytest

from webweave.pipelines.config import ConfigError, default_config, dump_config, load_config


def test_defaults_load_and_carry_published_values():
    config = default_config()
    assert config["config_version"] == 1
    assert config["run"]["parquet_compression"] == "zstd"
    assert config["commoncrawl"]["base_url"] == "https://data.commoncrawl.org/"


def test_user_file_overrides_a_subset(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("run:\n  shard_rows: 7\nextraction:\n  time_budget_seconds: 1\n")
    config = load_config(path)
    assert config["run"]["shard_rows"] == 7
    assert config["run"]["parquet_compression"] == "zstd"  # untouched sibling
    assert config["extraction"]["time_budget_seconds"] == 1.0
    assert isinstance(config["extraction"]["time_budget_seconds"], float)


@pytest.mark.parametrize(
    "text, message",
    [
        ("run:\n  shard_rowz: 7\n", "unknown config key 'run.shard_rowz'"),
        ("run:\n  shard_rows: '7'\n", "run.shard_rows must be an integer"),
        ("extraction:\n  keep_lists: no_thanks\n", "extraction.keep_lists must be true or false"),
        ("run: 3\n", "run must be a mapping"),
        ("commoncrawl:\n  base_url: 3\n", "commoncrawl.base_url must be a string"),
    ],
)
def test_typos_and_wrong_types_are_errors(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_config(path)


def test_dump_round_trips():
    config = load_config(overrides={"run": {"shard_rows": 3}})
    import yaml

    assert yaml.safe_load(dump_config(config)) == config
