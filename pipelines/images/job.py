"""The images job's graph, and running it (``images`` and ``images retry``)."""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterator

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from webweave.pipelines.beam_options import pipeline_options
from webweave.pipelines.funnel import MergeReports
from webweave.pipelines.images.batch import ProcessImageBatch
from webweave.pipelines.images.config import images_config, index_record_bytes
from webweave.pipelines.images.documents import WriteDocumentFile
from webweave.pipelines.images.references import ReadImageRefs, merge_candidates
from webweave.pipelines.images.stats import WriteImageStats
from webweave.pipelines.images.warc_lookup import IndexWarcCaptures, look_up_images
from webweave.pipelines.inputs import expand_pattern
from webweave.pipelines.layout import DOCUMENTS, IMAGE_RESULTS, IMAGES_JOB, STATS
from webweave.pipelines.parquet_shards import join, write_json_atomically


def stable_bucket(text: str, buckets: int) -> int:
    """Deterministic across processes and runs (Python's hash() is salted)."""
    return zlib.crc32(text.encode("utf-8")) % max(1, buckets)


def _match(pattern: str) -> list[str]:
    return sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)


def _join_members(element) -> Iterator[tuple[str, tuple]]:
    """(url, {images, lookups, previous}) → (url, (candidates, lookup, previous)) for used urls."""
    url, groups = element
    images = list(groups["images"])
    if not images:
        return
    lookups, previous = list(groups["lookups"]), list(groups["previous"])
    yield url, (images[0], lookups[0] if lookups else None, previous[0] if previous else None)


def build_images_pipeline(
    pipeline: beam.Pipeline, job: dict, previous_results: list[str] | None = None
) -> None:
    """Add the images job to ``pipeline`` (``job``: run_dir, output, from_warc, config, attempt)."""
    config, output = images_config(job["config"]), job["output"]
    doc_files = _match(join(job["run_dir"], DOCUMENTS, "*.parquet"))
    refs = (
        pipeline
        | "DocFiles" >> beam.Create(doc_files)
        | "ReadImageRefs"
        >> beam.ParDo(ReadImageRefs()).with_outputs("files", "candidates", main="refs")
    )
    images = (
        refs.candidates
        | "GroupCandidates" >> beam.GroupByKey()
        | "MergeCandidates" >> beam.Map(merge_candidates)
    )
    warc_inputs = [w for pattern in job.get("from_warc", []) for w in expand_pattern(pattern)]
    index_reports = []
    if warc_inputs:
        index = (
            pipeline
            | "WarcInputs" >> beam.Create(warc_inputs)
            | "IndexWarcCaptures"
            >> beam.ParDo(IndexWarcCaptures(index_record_bytes(config))).with_outputs(
                "reports", main="captures"
            )
        )
        lookups = look_up_images(images, index.captures, config.warc_max_hops)
        index_reports.append(index.reports)
    else:
        lookups = pipeline | "NoLookups" >> beam.Create([])
    previous = pipeline | "PreviousFiles" >> beam.Create(previous_results or [])
    previous = previous | "ReadPrevious" >> beam.FlatMap(
        lambda path: ((r["image_url"], r) for r in pq.read_table(path).to_pylist())
    )
    members = (
        {"images": images, "lookups": lookups, "previous": previous}
        | "JoinSources" >> beam.CoGroupByKey()
        | "Members" >> beam.FlatMap(_join_members)
    )
    count = members | "CountUrls" >> beam.combiners.Count.Globally()
    batch_size = config.batch_size
    batches = (
        members
        | "KeyBatch"
        >> beam.Map(
            lambda m, n: (stable_bucket(m[0], -(-n // batch_size)), (m[0], *m[1])),
            n=beam.pvalue.AsSingleton(count),
        )
        | "GroupBatch" >> beam.GroupByKey()
        | "ProcessImageBatch"
        >> beam.ParDo(ProcessImageBatch(output, config, job["attempt"])).with_outputs(
            "results", main="reports"
        )
    )
    results = batches.results
    image_report = (
        (batches.reports, *index_reports)
        | "ImageReports" >> beam.Flatten()
        | "MergeImageReports" >> beam.CombineGlobally(MergeReports())
    )
    keyed_results = results | "KeyResults" >> beam.Map(lambda r: (r["image_url"], r))
    per_file = (
        {"result": keyed_results, "file": refs.refs}
        | "JoinDocs" >> beam.CoGroupByKey()
        | "PerFile"
        >> beam.FlatMap(lambda e: ((f, r) for f in e[1]["file"] for r in e[1]["result"]))
    )
    written = (
        (per_file, refs.files)
        | "AllFiles" >> beam.Flatten()
        | "GroupFile" >> beam.GroupByKey()
        | "WriteDocumentFile"
        >> beam.ParDo(WriteDocumentFile(output, config)).with_outputs("page_warcs", main="reports")
    )
    doc_reports = written.reports | "MergeDocReports" >> beam.CombineGlobally(MergeReports())
    page_warcs = (
        written.page_warcs
        | "DistinctPageImages" >> beam.Distinct()
        | "PageWarcKind" >> beam.Map(lambda entry: (entry[0], entry[2]))
        | "CountPageWarcKinds" >> beam.combiners.Count.PerElement()
        | "PageWarcList" >> beam.combiners.ToList()
    )
    ok = results | "Kept" >> beam.Filter(lambda r: r["status"] == "ok")
    sha = (
        ok
        | "Sha" >> beam.Map(lambda r: r["sha256"])
        | "CountSha" >> beam.combiners.Count.PerElement()
        | "ShaList" >> beam.combiners.ToList()
    )
    phash = (
        ok
        | "PHash" >> beam.Map(lambda r: r["phash"])
        | "CountPHash" >> beam.combiners.Count.PerElement()
        | "PHashList" >> beam.combiners.ToList()
    )
    _ = (
        pipeline
        | "StatsTrigger" >> beam.Create([None])
        | "WriteStats"
        >> beam.ParDo(
            WriteImageStats(output, looked_up=bool(warc_inputs)),
            beam.pvalue.AsSingleton(image_report),
            beam.pvalue.AsSingleton(doc_reports),
            beam.pvalue.AsSingleton(sha),
            beam.pvalue.AsSingleton(phash),
            beam.pvalue.AsSingleton(page_warcs),
        )
    )


def retry_images_job(job: dict, beam_args: list[str]) -> int:
    """``images retry``: the job again, with its previous results, as the next attempt."""
    previous = _match(join(job["output"], IMAGE_RESULTS, "*.parquet"))
    config = images_config(job["config"])  # a job file of an older version: new keys
    return run_images_job(
        {**job, "config": config, "attempt": job["attempt"] + 1}, beam_args, previous
    )


def run_images_job(
    job: dict,
    beam_args: list[str],
    previous: list[str] | None = None,
    work_dir: str | None = None,
) -> int:
    """Run the pipeline into ``work_dir`` (default: the job's output), record the job for
    ``retry``, drop superseded result files."""
    work = work_dir or job["output"]
    os.makedirs(work, exist_ok=True)
    with beam.Pipeline(options=pipeline_options(beam_args)) as pipeline:
        build_images_pipeline(pipeline, {**job, "output": work}, previous)
    for path in previous or []:
        FileSystems.delete([path])  # superseded by this attempt's image_results
    record = {**job, "config": images_config(job["config"]).to_dict()}
    write_json_atomically(join(work, IMAGES_JOB), record)
    with open(join(work, STATS), encoding="utf-8") as handle:
        stats = json.load(handle)
    print(
        json.dumps(
            {
                k: stats[k]
                for k in (
                    "distinct_image_urls",
                    "images_kept",
                    "pairs",
                    "documents_written",
                    "funnel_closes",
                )
            }
        )
    )
    return 0 if stats["funnel_closes"] else 1
