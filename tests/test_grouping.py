"""The disk grouping (external sort) against Beam's own GroupByKey / CoGroupByKey."""

from __future__ import annotations

import pickle
import random
import types
from collections import defaultdict

import apache_beam as beam
import pytest
from apache_beam.coders import FastPrimitivesCoder
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from webweave.pipelines import grouping as grouping_module
from webweave.pipelines.grouping import (
    BEAM_SHUFFLE,
    MergeSortedRuns,
    ShuffleConfig,
    SpilledValues,
    grouping_for,
    spill_root,
    write_run,
)

from conftest import BEAM_TEST_RUNNER, small_disk_grouping

SETTINGS = {"mode": "auto", "directory": "", "partitions": 4, "buffer_mb": 1, "group_memory_mb": 1}


def _pairs(seed: int, count: int) -> list[tuple]:
    """Keys of several types with skewed group sizes (one key holds a fifth of the pairs)."""
    rng = random.Random(seed)
    keys = ["hot", b"\x00bytes", 7, ("domain", -3), None, *(f"k{i}" for i in range(300))]
    pairs = []
    for index in range(count):
        key = "hot" if index % 5 == 0 else rng.choice(keys)
        pairs.append((key, (index, "x" * rng.randrange(40))))
    return pairs


def _two_pass_summary(element) -> tuple:
    """A reducer that iterates its group twice, as the dedup reducers do."""
    key, values = element
    return (key, sum(1 for _ in values), sorted(index for index, _ in values))


@pytest.mark.parametrize("fan_in", [128, 3], ids=["one_merge", "multi_level_merge"])
def test_disk_group_by_key_equals_a_reference_and_leaves_no_runs(
    tmp_path, monkeypatch, fan_in: int
) -> None:
    monkeypatch.setattr(grouping_module, "MAX_OPEN_RUNS", fan_in)  # in-process runner
    merged = []
    merge_into_one_run = grouping_module._merge_into_one_run
    monkeypatch.setattr(
        grouping_module,
        "_merge_into_one_run",
        lambda paths: merged.append(len(paths)) or merge_into_one_run(paths),
    )
    pairs = _pairs(1, 6000)
    expected = defaultdict(list)
    for key, value in pairs:
        expected[key].append(value[0])
    spill = tmp_path / "spill"
    grouping = small_disk_grouping(spill)
    with BeamTestPipeline(runner=BEAM_TEST_RUNNER) as pipeline:
        first = pipeline | "First" >> beam.Create(pairs[:2500])
        second = pipeline | "Second" >> beam.Create(pairs[2500:])
        grouped = (first, second) | grouping.group_by_key() | beam.Map(_two_pass_summary)
        assert_that(grouped, equal_to([(k, len(v), sorted(v)) for k, v in expected.items()]))
    assert not spill.exists()  # every run deleted once merged, the folder too
    assert bool(merged) is (fan_in == 3)  # intermediate merges only past the fan-in


def _dump(rows: list, path: str) -> None:
    with open(path, "wb") as out:
        pickle.dump(sorted(rows, key=repr), out)


def test_disk_co_group_by_key_equals_beams(tmp_path) -> None:
    left, right = _pairs(2, 800), _pairs(3, 300)

    def canonical(element):
        key, joined = element
        return (key, sorted(joined["left"]), sorted(joined["right"]))

    results = {}
    for name, grouping in (("beam", BEAM_SHUFFLE), ("disk", small_disk_grouping(tmp_path))):
        with BeamTestPipeline(runner=BEAM_TEST_RUNNER) as pipeline:
            joined = {
                "left": pipeline | "Left" >> beam.Create(left),
                "right": pipeline | "Right" >> beam.Create(right),
            } | grouping.co_group_by_key()
            out = tmp_path / f"{name}.pkl"
            _ = (
                joined
                | beam.Map(canonical)
                | beam.combiners.ToList()
                | beam.Map(
                    lambda rows, path=str(out): pickle.dump(
                        sorted(rows, key=repr), open(path, "wb")
                    )
                )
            )
        results[name] = pickle.loads(out.read_bytes())
    assert results["disk"] == results["beam"]
    assert len(results["disk"]) == len({key for key, _ in left + right})


def test_distinct_and_sum_per_key_on_disk(tmp_path) -> None:
    grouping = small_disk_grouping(tmp_path)
    with BeamTestPipeline(runner=BEAM_TEST_RUNNER) as pipeline:
        edges = pipeline | "Edges" >> beam.Create([(1, 2), (2, 1), (1, 2), (3, 4)] * 50)
        assert_that(
            edges | "Distinct" >> grouping.distinct(),
            equal_to([(1, 2), (2, 1), (3, 4)]),
            "distinct",
        )
        ones = pipeline | "Ones" >> beam.Create([("a", 1)] * 700 + [("b", 2)])
        assert_that(
            ones | "Sum" >> grouping.sum_per_key(), equal_to([("a", 700), ("b", 2)]), "sums"
        )


def test_merge_orders_values_by_bytes_and_rereads_large_groups(tmp_path) -> None:
    """Values of a key come out sorted by their encoded bytes whatever run they were in;
    a group over the memory limit is a re-iterable view re-read from disk."""
    coder = FastPrimitivesCoder()
    key_coder = coder.as_deterministic_coder("test")
    runs = [
        [("a", 5), ("a", 1), ("b", 9)],
        [("a", 3), ("c", 0)],
        [("a", 4), ("a", 2), ("b", 8)],
    ]
    paths = []
    for index, run in enumerate(runs):
        path = tmp_path / f"run{index}.run"
        records = sorted((key_coder.encode(k), coder.encode(v)) for k, v in run)
        write_run(str(path), records)
        paths.append(str(path))
    merge = MergeSortedRuns(group_memory_bytes=3)  # every multi-value group spills
    merge.setup()
    seen = {}
    for key, values in merge._merge([_reader(p) for p in paths]):
        seen[key] = (type(values), list(values), list(values))
    assert seen["a"][0] is SpilledValues
    assert seen["a"][1] == seen["a"][2] == [1, 2, 3, 4, 5]
    assert seen["b"][1] == [8, 9] and seen["c"][1] == [0]


def _reader(path: str):
    from webweave.pipelines.grouping import _RunReader

    return _RunReader(path)


@pytest.mark.parametrize(
    ("runner", "mode", "on_disk"),
    [
        ("FnApiRunner", "auto", True),
        ("DataflowRunner", "auto", False),
        ("FnApiRunner", "beam", False),
        ("DataflowRunner", "disk", True),
    ],
)
def test_grouping_follows_the_runner_and_the_config(tmp_path, runner, mode, on_disk) -> None:
    pipeline = types.SimpleNamespace(runner=type(runner, (), {})())
    grouping = grouping_for(
        pipeline, str(tmp_path), ShuffleConfig.parse({**SETTINGS, "mode": mode})
    )
    assert grouping.on_disk is on_disk
    if on_disk:
        assert grouping.spill_dir.startswith(str(tmp_path / "_shuffle"))
        assert (grouping.partitions, grouping.buffer_bytes) == (4, 1 << 20)


def test_remote_outputs_spill_to_the_temp_dir_and_bad_modes_fail(tmp_path) -> None:
    assert spill_root("gs://bucket/out").startswith("/")
    owned = spill_root(str(tmp_path), str(tmp_path / "scratch"))
    assert owned.startswith(str(tmp_path / "scratch" / "webweave-shuffle-"))  # never the folder
    assert spill_root(str(tmp_path)) == str(tmp_path / "_shuffle")
    with pytest.raises(ValueError, match="shuffle.mode = 'memory': must be one of"):
        ShuffleConfig.parse({**SETTINGS, "mode": "memory"})
