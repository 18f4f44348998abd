"""``webweave capfilt refilter OUT --config NEW --output OUT2``: new thresholds, no model run.

The new configuration is OUT's own (``OUT/config.yaml``) with NEW's keys laid over it, so
NEW need only name what changes. Only late keys (``itm_threshold``, ``keep_top``,
``write_documents``) and speed/layout keys may differ from OUT's: any key that changes a
stored score (models, decoding, seed, text sources, ...) is refused in one line, because it
needs a model run. Every row is re-decided by the same function as the job, reports are
counted from the same rows, and stats are finalised by the same function, so OUT2 equals a
full ``webweave capfilt`` run with the new configuration (``run`` timing in stats aside).
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Iterator

import apache_beam as beam
import yaml
from apache_beam.io.filesystems import FileSystems

from webweave.filters.capfilt.config import CapFiltConfig
from webweave.filters.capfilt.decisions import apply_decisions
from webweave.pipelines.capfilt.job import CapFiltJob, MergeReports, write_config
from webweave.pipelines.capfilt.results import (
    CAPFILT,
    CONFIG,
    DEAD_LETTER,
    DOCUMENTS,
    STATS,
    attach_documents,
    attachment,
    document_prefixes,
    finalize_stats,
    images_dir_of,
    match,
    read_rows,
    shard_report,
    thresholds,
    write_rows,
)
from webweave.pipelines.config import load_section
from webweave.pipelines.errors import OutputFolderError
from webweave.pipelines.parquet_shards import join, read_json, write_json_atomically
from webweave.schemas import capfilt as capfilt_schema
from webweave.schemas import dead_letter as dead_letter_schema
from webweave.schemas.config import ConfigError


def refilter_config(out_dir: str, new_path: str) -> tuple[CapFiltConfig, CapFiltConfig]:
    """(OUT's config, OUT's config with NEW's keys laid over it); refuses score-changing keys."""
    old_dict = yaml.safe_load(_read_text(join(out_dir, CONFIG)))["capfilt"]
    with open(new_path, encoding="utf-8") as handle:
        new_dict = yaml.safe_load(handle) or {}
    if not isinstance(new_dict, dict):
        raise ConfigError(f"{new_path}: the top level must be a mapping")
    old = load_section(CapFiltConfig, overrides={"capfilt": old_dict})
    merged = _laid_over(old_dict, new_dict.get("capfilt") or {})
    new = load_section(CapFiltConfig, overrides={"capfilt": merged})
    old_keys, new_keys = _flat(old.model_keys()), _flat(new.model_keys())
    for key in sorted(set(old_keys) | set(new_keys)):
        if old_keys.get(key) != new_keys.get(key):
            raise ConfigError(
                f"capfilt refilter: capfilt.{key} changes from {old_keys.get(key)!r} to "
                f"{new_keys.get(key)!r}; it changes the scores, so it needs a model run "
                "(webweave capfilt)"
            )
    return old, new


def _laid_over(base: dict, update: dict) -> dict:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _laid_over(base[key], value)
        else:
            merged[key] = value
    return merged


def _flat(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _read_text(path: str) -> str:
    if not FileSystems.exists(path):
        raise FileNotFoundError(f"{path} not found: is this a `webweave capfilt` output?")
    with FileSystems.open(path) as handle:
        return handle.read().decode("utf-8")


class RefilterShard(beam.DoFn):
    """One image shard's capfilt and dead-letter files, re-decided and rewritten."""

    def __init__(self, write_dir: str, config: CapFiltConfig):
        self.write_dir = write_dir
        self.config = config

    def process(self, element) -> Iterator:
        stem, (capfilt_paths, dead_paths) = element
        decided = thresholds(self.config)
        rows = [apply_decisions(row, decided) for row in read_rows(capfilt_paths)]
        dead = read_rows(dead_paths)
        folder = join(self.write_dir, CAPFILT)
        write_rows(folder, stem, capfilt_schema.SCHEMA, rows, self.config)
        folder = join(self.write_dir, DEAD_LETTER)
        write_rows(folder, stem, dead_letter_schema.SCHEMA, dead, self.config)
        yield shard_report(rows, dead)
        if self.config.write_documents:
            for row in rows:
                yield beam.pvalue.TaggedOutput(DOCUMENTS, attachment(row))


def _files_by_stem(out_dir: str) -> list[tuple[str, tuple[list[str], list[str]]]]:
    """Image-shard stem → (its capfilt files, its dead-letter files), in name order."""
    groups: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for slot, folder in enumerate((CAPFILT, DEAD_LETTER)):
        for path in match(join(out_dir, folder, "*.parquet")):
            stem = os.path.splitext(os.path.basename(path))[0].rsplit("-", 1)[0]
            groups[stem][slot].append(path)
    return sorted(groups.items())


class WriteRefilteredStats(beam.DoFn):
    def __init__(self, write_dir: str, config: CapFiltConfig, run: dict):
        self.write_dir = write_dir
        self.config = config
        self.run = run

    def process(self, _, report: dict, documents: list) -> Iterator[str]:
        if documents:
            report = {**report, **documents[0]}
        path = join(self.write_dir, STATS)
        write_json_atomically(path, finalize_stats(report, self.config, self.run))
        yield path


def run_refilter(out_dir: str, new_path: str, output: str, options, overwrite=False) -> dict:
    """Re-decide OUT with NEW into ``output``; returns the new stats.json."""
    images_dir = images_dir_of(out_dir)
    _, new = refilter_config(out_dir, new_path)
    if os.path.abspath(output) == os.path.abspath(out_dir):
        raise OutputFolderError("capfilt refilter: --output must differ from OUT")
    job = CapFiltJob(images_dir, output, new)
    folder = job.claim(overwrite)  # OUT2 is owned as a capfilt output of the same images
    write_dir = folder.work_path
    write_config(new, write_dir)
    started = time.time()
    old_run = read_json(join(out_dir, STATS)).get("run", {})
    with beam.Pipeline(options=options) as pipeline:
        shards = (
            pipeline
            | "Shards" >> beam.Create(_files_by_stem(out_dir))
            | "Refilter"
            >> beam.ParDo(RefilterShard(write_dir, new)).with_outputs(DOCUMENTS, main="reports")
        )
        report = shards.reports | "MergeReports" >> beam.CombineGlobally(MergeReports())
        documents = pipeline | "NoDocuments" >> beam.Create([])
        if new.write_documents:
            prefixes = document_prefixes(job.images_dir)
            documents = attach_documents(
                shards[DOCUMENTS], prefixes, job.images_dir, write_dir, new
            ) | "MergeDocuments" >> beam.CombineGlobally(MergeReports())
        run = {"refiltered_from": out_dir, "model_run": old_run}
        _ = (
            pipeline
            | "StatsTrigger" >> beam.Create([None])
            | "WriteStats"
            >> beam.ParDo(
                WriteRefilteredStats(write_dir, new, run),
                beam.pvalue.AsSingleton(report),
                beam.pvalue.AsList(documents),
            )
        )
    folder.finish()
    stats = read_json(join(output, STATS))
    stats["run"]["seconds"] = round(time.time() - started, 3)
    write_json_atomically(join(output, STATS), stats)
    return stats
