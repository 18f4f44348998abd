"""How the dedup graph groups by key: Beam's shuffle, or a disk-backed sort for local runs.

On Dataflow, ``GroupByKey`` is the service's shuffle: it spills to disk and spreads keys over
workers, so no worker's memory grows with the corpus. Beam's local FnApiRunner instead keeps
every grouped PCollection, and every multi-input ``Flatten``, as bytes in the runner process,
and hands each group to a worker as one list: a local run's peak memory grows with the crawl.

``Grouping`` lets the dedup graph say *what* it groups and choose *how* once per job:

- ``Grouping()`` (no ``spill_dir``): Beam's ``GroupByKey`` / ``CoGroupByKey``.
- ``Grouping(spill_dir=...)``: ``DiskGroupByKey``, an external sort inside the graph. Each
  input is encoded with Beam's deterministic coder and written as sorted runs of bounded size
  (``SpillSortedRuns``); only the runs' file names go through a (tiny) Beam shuffle, by
  partition; ``MergeSortedRuns`` k-way merges one partition's runs and emits ``(key, values)``
  groups. A group under ``group_memory_bytes`` is decoded into a list; a larger one is a
  re-iterable view that re-reads its segments from disk, so neither the runner nor a worker
  holds more than a run buffer and one bounded group. Values come out sorted by their encoded
  bytes, so the grouping is deterministic whatever the bundling.

Both return re-iterable grouped values, which the dedup reducers rely on (two passes).
The local spill folder must be visible to every worker process: it is for local runners only.
"""

from __future__ import annotations

import heapq
import os
import shutil
import struct
import tempfile
import uuid
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

import apache_beam as beam
from apache_beam.coders import FastPrimitivesCoder
from apache_beam.pvalue import PCollection
from apache_beam.transforms.window import GlobalWindows

from webweave.schemas.config import PositiveInt, Section

_HEADER = struct.Struct(">II")  # key length, value length; then the key and value bytes
MAX_OPEN_RUNS = 128  # merge fan-in: more runs are first merged into fewer, bigger runs
SPILL_FOLDER = "_shuffle"  # under a local output folder; removed when the job ends
# Runners that execute on this machine and keep shuffles in memory (→ disk grouping).
LOCAL_RUNNERS = frozenset(
    {
        "FnApiRunner",
        "DirectRunner",
        "SwitchingDirectRunner",
        "BundleBasedDirectRunner",
        "PrismRunner",
        "InteractiveRunner",
    }
)


@dataclass(frozen=True)
class Grouping:
    """The grouping primitives of the dedup graph, bound to one execution strategy."""

    spill_dir: str | None = None  # None: Beam's shuffle; else a local folder for sorted runs
    partitions: int = 8  # merge tasks (parallelism of the merge step)
    buffer_bytes: int = 8 << 20  # encoded bytes a spilling worker buffers before a run
    group_memory_bytes: int = 4 << 20  # groups larger than this are re-read from disk

    @property
    def on_disk(self) -> bool:
        return self.spill_dir is not None

    def group_by_key(self) -> beam.PTransform:
        """(key, value) → (key, re-iterable values). Also takes a tuple of PCollections."""
        if not self.on_disk:
            return _FlattenThen(beam.GroupByKey())
        return DiskGroupByKey(self)

    def co_group_by_key(self) -> beam.PTransform:
        """{tag: PCollection[(key, value)]} → (key, {tag: re-iterable values})."""
        if not self.on_disk:
            return beam.CoGroupByKey()
        return _DiskCoGroupByKey(self)

    def distinct(self) -> beam.PTransform:
        """Each distinct element once."""
        if not self.on_disk:
            return beam.Distinct()
        return _DiskGroupThen(self, _as_key, _key_only)

    def sum_per_key(self) -> beam.PTransform:
        """(key, int) → (key, sum) for keys that grow with the corpus (cluster ids)."""
        if not self.on_disk:
            return beam.CombinePerKey(sum)
        return _DiskGroupThen(self, _unchanged, _sum_values)


BEAM_SHUFFLE = Grouping()  # the default: Beam's own GroupByKey


@dataclass(frozen=True)
class ShuffleConfig(Section):
    """``shuffle:``: how the dedup steps group by key (never changes the output)."""

    yaml_name = "shuffle"

    mode: Literal["auto", "beam", "disk"]
    directory: str
    partitions: PositiveInt
    buffer_mb: PositiveInt
    group_memory_mb: PositiveInt


def grouping_for(pipeline: beam.Pipeline, output_dir: str, settings: ShuffleConfig) -> Grouping:
    """The job's grouping from the config's ``shuffle:`` block and the pipeline's runner.

    ``mode: auto`` groups on disk under a local runner and with Beam's shuffle elsewhere.
    """
    runner = type(getattr(pipeline, "runner", None)).__name__
    if settings.mode == "beam" or (settings.mode == "auto" and runner not in LOCAL_RUNNERS):
        return BEAM_SHUFFLE
    return Grouping(
        spill_dir=os.path.join(spill_root(output_dir, settings.directory), uuid.uuid4().hex),
        partitions=settings.partitions,
        buffer_bytes=settings.buffer_mb << 20,
        group_memory_bytes=settings.group_memory_mb << 20,
    )


def spill_root(output_dir: str, directory: str = "") -> str:
    """The folder a job's sorted runs go to, which the job owns and deletes: ``OUTPUT/_shuffle``
    for a local output; else a subfolder named after the output in ``shuffle.directory`` (never
    that folder itself, which is the user's) or in the system temp dir."""
    if "://" not in output_dir and not directory:
        return os.path.join(output_dir, SPILL_FOLDER)
    name = f"webweave-shuffle-{zlib.crc32(output_dir.encode()):08x}"
    return os.path.join(directory or tempfile.gettempdir(), name)


def remove_spill_root(output_dir: str, directory: str = "") -> None:
    """Delete a job's sorted runs (those of a killed earlier run too)."""
    shutil.rmtree(spill_root(output_dir, directory), ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Beam's shuffle
# --------------------------------------------------------------------------------------------


class _FlattenThen(beam.PTransform):
    """Apply ``transform`` to a PCollection, or to the Flatten of a tuple of them."""

    def __init__(self, transform: beam.PTransform):
        super().__init__()
        self._transform = transform

    def expand(self, pcolls):
        if not isinstance(pcolls, PCollection):
            pcolls = tuple(pcolls) | "Flatten" >> beam.Flatten()
        return pcolls | "Apply" >> self._transform


# --------------------------------------------------------------------------------------------
# Disk grouping: spill sorted runs, shuffle their names, merge per partition
# --------------------------------------------------------------------------------------------


class DiskGroupByKey(beam.PTransform):
    """GroupByKey as an external sort on a local disk (module doc).

    In: a PCollection of (key, value), or a tuple of them (each spilled on its own, so no
    multi-input Flatten is materialised in the runner). Keys must be deterministically
    encodable (str, bytes, int, None, tuples of these). Out: (key, values).
    """

    def __init__(self, grouping: Grouping):
        super().__init__()
        self._grouping = grouping

    def expand(self, pcolls):
        if isinstance(pcolls, PCollection):
            pcolls = (pcolls,)
        spill = SpillSortedRuns(
            self._grouping.spill_dir, self._grouping.partitions, self._grouping.buffer_bytes
        )
        runs = [pcoll | f"Spill{index}" >> beam.ParDo(spill) for index, pcoll in enumerate(pcolls)]
        if len(runs) > 1:
            runs = tuple(runs) | "AllRuns" >> beam.Flatten()  # run names only: tiny
        else:
            runs = runs[0]
        return (
            runs
            | "RunsByPartition" >> beam.GroupByKey()
            | "Merge" >> beam.ParDo(MergeSortedRuns(self._grouping.group_memory_bytes))
        )


class SpillSortedRuns(beam.DoFn):
    """Buffers encoded (key, value) pairs; when full (and at bundle end) sorts them by
    (partition, key, value) and writes one run file per partition.

    Emits (partition, run path). A bundle that fails leaves files nobody names; they go with
    the spill folder.
    """

    def __init__(self, spill_dir: str, partitions: int, buffer_bytes: int):
        self._spill_dir = spill_dir
        self._partitions = partitions
        self._buffer_bytes = buffer_bytes

    def setup(self) -> None:
        self._key_coder = FastPrimitivesCoder().as_deterministic_coder("DiskGroupByKey")
        self._value_coder = FastPrimitivesCoder()

    def start_bundle(self) -> None:
        self._buffer: list[tuple[int, bytes, bytes]] = []
        self._buffered = 0

    def process(self, element) -> Iterator[tuple[int, str]]:
        key, value = element
        key_bytes = self._key_coder.encode(key)
        value_bytes = self._value_coder.encode(value)
        self._buffer.append((zlib.crc32(key_bytes) % self._partitions, key_bytes, value_bytes))
        self._buffered += len(key_bytes) + len(value_bytes) + 100  # + Python object overhead
        if self._buffered >= self._buffer_bytes:
            yield from self._write_runs()

    def finish_bundle(self):
        for run in self._write_runs():
            yield GlobalWindows.windowed_value(run)

    def _write_runs(self) -> Iterator[tuple[int, str]]:
        buffer, self._buffer, self._buffered = self._buffer, [], 0
        if not buffer:
            return
        buffer.sort()
        os.makedirs(self._spill_dir, exist_ok=True)
        name = uuid.uuid4().hex
        start = 0
        while start < len(buffer):
            partition = buffer[start][0]
            end = start
            while end < len(buffer) and buffer[end][0] == partition:
                end += 1
            path = os.path.join(self._spill_dir, f"{name}-p{partition:03d}.run")
            write_run(path, ((key, value) for _, key, value in buffer[start:end]))
            yield (partition, path)
            start = end


def write_run(path: str, records: Iterable[tuple[bytes, bytes]]) -> None:
    """Sorted (key bytes, value bytes) records, each framed by their two lengths."""
    with open(path, "wb") as handle:
        handle.write(
            b"".join(
                b"".join((_HEADER.pack(len(key), len(value)), key, value)) for key, value in records
            )
        )


class _RunReader:
    """Reads one run record by record; ``key`` is None at the end."""

    def __init__(self, path: str, start: int = 0, end: int | None = None):
        self.path = path
        self._handle = open(path, "rb", buffering=1 << 16)  # noqa: SIM115 (closed at the end)
        self._handle.seek(start)
        self.offset = start  # where the current record starts
        self._end = os.path.getsize(path) if end is None else end
        self.key: bytes | None = None
        self.value = b""
        self.advance()

    def advance(self, skip_values_of: bytes | None = None) -> None:
        """Move to the next record; seek over its value if its key is ``skip_values_of``."""
        if self.key is not None:
            self.offset += _HEADER.size + len(self.key) + self._value_length
        if self.offset >= self._end:
            self.key = None
            self._handle.close()
            return
        key_length, self._value_length = _HEADER.unpack(self._handle.read(_HEADER.size))
        self.key = self._handle.read(key_length)
        if self.key == skip_values_of:
            self.value = b""
            self._handle.seek(self._value_length, os.SEEK_CUR)
        else:
            self.value = self._handle.read(self._value_length)


@dataclass(frozen=True)
class _Segment:
    """One key's consecutive records in one run: [start, end) byte offsets."""

    path: str
    start: int
    end: int


class SpilledValues:
    """A large group's values, re-read (merged by value bytes, decoded) on every iteration.

    Valid while its partition is being merged (the runs are deleted afterwards): consumers
    iterate their group when they receive it, as every dedup reducer does, never keep it."""

    def __init__(self, segments: list[_Segment], coder):
        self._segments = segments
        self._coder = coder

    def __iter__(self) -> Iterator:
        streams = [_segment_values(segment) for segment in self._segments]
        for value in heapq.merge(*streams):
            yield self._coder.decode(value)

    def __reduce__(self):
        return (SpilledValues, (self._segments, self._coder))


def _segment_values(segment: _Segment) -> Iterator[bytes]:
    reader = _RunReader(segment.path, segment.start, segment.end)
    while reader.key is not None:
        yield reader.value
        reader.advance()


class MergeSortedRuns(beam.DoFn):
    """(partition, run paths) → (key, values) per distinct key, runs deleted once merged."""

    def __init__(self, group_memory_bytes: int):
        self._group_memory_bytes = group_memory_bytes

    def setup(self) -> None:
        self._key_coder = FastPrimitivesCoder().as_deterministic_coder("DiskGroupByKey")
        self._value_coder = FastPrimitivesCoder()

    def process(self, element) -> Iterator[tuple]:
        _, paths = element
        paths = sorted(paths)
        folder = os.path.dirname(paths[0])
        while len(paths) > MAX_OPEN_RUNS:  # bounded open files whatever the corpus size
            paths = [
                _merge_into_one_run(paths[start : start + MAX_OPEN_RUNS])
                for start in range(0, len(paths), MAX_OPEN_RUNS)
            ]
        yield from self._merge([_RunReader(path) for path in paths])
        for path in paths:
            os.remove(path)
        _remove_if_empty(folder)

    def _merge(self, readers: list[_RunReader]) -> Iterator[tuple]:
        heap = [(reader.key, index) for index, reader in enumerate(readers)]
        heapq.heapify(heap)
        while heap:
            key = heap[0][0]
            group: list[tuple[_Segment, list[bytes]]] = []
            held = 0
            while heap and heap[0][0] == key:
                _, index = heapq.heappop(heap)
                reader = readers[index]
                start, values = reader.offset, []
                while reader.key == key:
                    if held <= self._group_memory_bytes:
                        values.append(reader.value)
                        held += len(reader.value)
                    # Past the limit the group is re-read from disk: only its offsets matter.
                    reader.advance(key if held > self._group_memory_bytes else None)
                group.append((_Segment(reader.path, start, reader.offset), values))
                if reader.key is not None:
                    heapq.heappush(heap, (reader.key, index))
            yield (self._key_coder.decode(key), self._values(group, held))

    def _values(self, group: list[tuple[_Segment, list[bytes]]], held: int):
        if held > self._group_memory_bytes:
            return SpilledValues([segment for segment, _ in group], self._value_coder)
        decode = self._value_coder.decode
        if len(group) == 1:
            return [decode(value) for value in group[0][1]]
        return [decode(value) for value in heapq.merge(*(values for _, values in group))]


def _records(path: str) -> Iterator[tuple[bytes, bytes]]:
    reader = _RunReader(path)
    while reader.key is not None:
        yield (reader.key, reader.value)
        reader.advance()


def _merge_into_one_run(paths: list[str]) -> str:
    """Merge sorted runs into one sorted run beside them; the inputs are deleted."""
    if len(paths) == 1:
        return paths[0]
    merged = os.path.join(os.path.dirname(paths[0]), f"{uuid.uuid4().hex}-merged.run")
    with open(merged, "wb") as handle:
        for key, value in heapq.merge(*(_records(path) for path in paths)):
            handle.write(b"".join((_HEADER.pack(len(key), len(value)), key, value)))
    for path in paths:
        os.remove(path)
    return merged


def _remove_if_empty(folder: str) -> None:
    """Tidy the spill folder once its last run is merged (another step may refill it), and
    ``OUTPUT/_shuffle`` when it is left empty; never any other folder."""
    parent = os.path.dirname(folder)
    for path in (folder, parent) if os.path.basename(parent) == SPILL_FOLDER else (folder,):
        try:
            os.rmdir(path)
        except OSError:
            return


# --------------------------------------------------------------------------------------------
# Derived groupings
# --------------------------------------------------------------------------------------------


class _DiskCoGroupByKey(beam.PTransform):
    """CoGroupByKey over ``DiskGroupByKey``: values tagged by input, one group per key."""

    def __init__(self, grouping: Grouping):
        super().__init__()
        self._grouping = grouping

    def expand(self, inputs: dict):
        tags = list(inputs)
        tagged = tuple(
            inputs[tag] | f"Tag{tag}" >> beam.MapTuple(lambda k, v, i=index: (k, (i, v)))
            for index, tag in enumerate(tags)
        )
        return (
            tagged
            | "Group" >> DiskGroupByKey(self._grouping)
            | "ByTag"
            >> beam.MapTuple(
                lambda key, values: (
                    key,
                    {tag: TaggedValues(values, index) for index, tag in enumerate(tags)},
                )
            )
        )


class TaggedValues:
    """The values of one input of a co-grouped key (re-iterable, like the group itself)."""

    def __init__(self, values: Iterable, index: int):
        self._values = values
        self._index = index

    def __iter__(self) -> Iterator:
        return (value for index, value in self._values if index == self._index)

    def __reduce__(self):
        return (list, (list(self),))


class _DiskGroupThen(beam.PTransform):
    """``DiskGroupByKey`` between a Map that keys the input and a MapTuple over the groups."""

    def __init__(self, grouping: Grouping, key_by, reduce_group):
        super().__init__()
        self._grouping = grouping
        self._key_by = key_by
        self._reduce_group = reduce_group

    def expand(self, pcoll):
        return (
            pcoll
            | "KeyBy" >> beam.Map(self._key_by)
            | "Group" >> DiskGroupByKey(self._grouping)
            | "Reduce" >> beam.MapTuple(self._reduce_group)
        )


def _as_key(element) -> tuple:
    return (element, None)


def _key_only(key, _values):
    return key


def _unchanged(pair):
    return pair


def _sum_values(key, values) -> tuple:
    return (key, sum(values))
