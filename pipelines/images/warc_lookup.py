"""The images job's archive side: index the ``--from-warc`` WARCs, look images up, read bytes.

Built (issue #17) the way replay works (pywb: a CDX index,
a lookup by SURT key, then one record read at its offset), instead of shuffling every image
body of the WARCs to a join on exact URL strings:

    archive WARCs → IndexWarcCaptures → (surt key, Capture)    [no bodies: a CDX-like index]
    images (url, candidates) → one Lookup per candidate → (surt key, Lookup)
    round r = 0 .. max_hops:  CoGroupByKey(key) → StepLookups → Resolution | Lookup (next key)
    Resolutions → GroupByKey(image url) → decide → (image url, ImageLookup)

Each round moves every pending lookup one step (a capture chosen, a revisit or redirect hop);
``max_hops`` bounds the rounds, so the graph is fixed. The index is re-grouped once per round;
it is a few hundred bytes per record, far less than the bodies the old join moved. The bytes
of the chosen records are read later, by offset, in the image batches (``PayloadReader``).

Records larger than ``index_max_record_bytes`` cannot be indexed (the reader does not hold
them) and are counted per archive WARC in ``read_errors`` with every other unreadable span.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from urllib.parse import urljoin

import apache_beam as beam

from webweave.filters.archive_lookup import (
    Capture,
    Lookup,
    Resolution,
    decide,
    declared_non_image,
    first_lookups,
    step,
)
from webweave.filters.archive_urls import surt_key
from webweave.filters.http_payload import decode_http_body
from webweave.filters.record_selection import http_header
from webweave.pipelines.inputs import WarcInput
from webweave.pipelines.warc_source import WarcRecord, iter_warc_records, open_warc_stream

INDEXED_TYPES = ("response", "revisit")


# ---------------------------------------------------------------- the index


def capture_of(record: WarcRecord, location: str, ordinal: int) -> Capture | None:
    """The index entry of one record, or None when it is not an HTTP response or revisit."""
    if record.warc_type not in INDEXED_TYPES or not record.target_uri:
        return None
    if record.http_status is None and record.warc_type == "response":
        return None  # not an HTTP response; an old-style revisit may have no HTTP headers
    headers = record.warc_headers
    location_header = http_header(record.http_headers, "Location")
    redirect_to = None
    if location_header and 300 <= (record.http_status or 0) < 400:
        try:
            redirect_to = urljoin(record.target_uri, location_header.strip())
        except ValueError:
            redirect_to = None
    return Capture(
        uri=record.target_uri,
        date=(record.warc_date or "").strip(),
        warc=record.source,
        location=location,
        offset=record.offset,
        ordinal=ordinal,
        record_type=record.warc_type,
        status=record.http_status or 0,
        payload_digest=_warc_header(headers, "WARC-Payload-Digest"),
        refers_to_uri=_strip_uri(_warc_header(headers, "WARC-Refers-To-Target-URI")),
        refers_to_date=_warc_header(headers, "WARC-Refers-To-Date"),
        redirect_to=redirect_to,
        declared_non_image=declared_non_image(http_header(record.http_headers, "Content-Type")),
    )


def _warc_header(headers: dict[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value.strip() or None
    return None


def _strip_uri(uri: str | None) -> str | None:
    return uri.strip("<> ") if uri else None


def index_warc(warc: WarcInput, max_record_bytes: int) -> Iterator[Capture | dict]:
    """Every capture of one WARC, then its report (records, captures, read errors by type)."""
    records, captures, errors = 0, 0, Counter()
    last_offset, ordinal = None, 0
    with open_warc_stream(warc.location) as stream:
        for record in iter_warc_records(
            stream, warc.name, max_record_bytes=max_record_bytes, verify_digests=False
        ):
            if not isinstance(record, WarcRecord):
                errors[record.error_type] += 1
                continue
            records += 1
            ordinal = ordinal + 1 if record.offset == last_offset else 0
            last_offset = record.offset
            capture = capture_of(record, warc.location, ordinal)
            if capture is not None:
                captures += 1
                yield capture
    yield {"records": records, "captures": captures, "read_errors": dict(errors)}


class IndexWarcCaptures(beam.DoFn):
    """One archive WARC → (surt key, Capture) per response/revisit; a report tagged "reports"."""

    def __init__(self, max_record_bytes: int):
        self.max_record_bytes = max_record_bytes

    def process(self, warc: WarcInput) -> Iterator:
        for entry in index_warc(warc, self.max_record_bytes):
            if isinstance(entry, Capture):
                yield surt_key(entry.uri), entry
            else:
                report = {"archive_warcs": {warc.name: entry}}
                yield beam.pvalue.TaggedOutput("reports", report)


# ---------------------------------------------------------------- lookup rounds


class StepLookups(beam.DoFn):
    """One key's lookups and captures → each lookup's Resolution (main) or next Lookup."""

    def __init__(self, max_hops: int):
        self.max_hops = max_hops

    def process(self, element) -> Iterator:
        _, groups = element
        lookups = list(groups["lookups"])
        if not lookups:
            return
        captures = list(groups["captures"])
        for lookup in lookups:
            outcome = step(lookup, captures, self.max_hops)
            if isinstance(outcome, Lookup):
                yield beam.pvalue.TaggedOutput("next", (outcome.key, outcome))
            else:
                yield outcome


def _out_of_rounds(lookup: Lookup) -> Resolution:
    return Resolution(lookup.image_url, lookup.candidate, None, "warc_too_many_hops",
                      lookup.match, lookup.via)  # fmt: skip


def look_up_images(images, captures, max_hops: int, label: str = "Warc"):
    """``images`` (url, candidate URLs) × the index → (url, ImageLookup) for every image."""
    pending = images | f"{label}FirstLookups" >> beam.FlatMap(
        lambda image: ((lookup.key, lookup) for lookup in first_lookups(*image))
    )
    ended = []
    for round_ in range(max_hops + 1):
        stepped = (
            {"lookups": pending, "captures": captures}
            | f"{label}Join{round_}" >> beam.CoGroupByKey()
            | f"{label}Step{round_}"
            >> beam.ParDo(StepLookups(max_hops)).with_outputs("next", main="ended")
        )
        ended.append(stepped.ended)
        pending = stepped.next
    ended.append(pending | f"{label}OutOfRounds" >> beam.Map(lambda kv: _out_of_rounds(kv[1])))
    return (
        ended
        | f"{label}Resolutions" >> beam.Flatten()
        | f"{label}ByImage" >> beam.Map(lambda r: (r.image_url, r))
        | f"{label}GroupImage" >> beam.GroupByKey()
        | f"{label}Decide" >> beam.Map(lambda kv: (kv[0], decide(kv[0], list(kv[1]))))
    )


# ---------------------------------------------------------------- reading payloads


class WarcPayloadError(Exception):
    """A chosen record could not be read back; ``kind`` becomes the fetch reason."""

    def __init__(self, kind: str, message: str = ""):
        super().__init__(message or kind)
        self.kind = kind


class PayloadReader:
    """Reads the decoded HTTP payload of captures by offset, one open stream per WARC.

    Used as a context manager by one image batch; seekable files (local, gs://, s3://) are
    positioned directly, others are re-opened and read forward to the offset.
    """

    def __init__(self, max_record_bytes: int, max_bytes: int):
        self.max_record_bytes = max_record_bytes
        self.max_bytes = max_bytes
        self._streams: dict[str, object] = {}

    def __enter__(self) -> PayloadReader:
        return self

    def __exit__(self, *exc) -> None:
        for stream in self._streams.values():
            stream.close()
        self._streams.clear()

    def read(self, capture: Capture) -> bytes:
        record = self._record(capture)
        try:
            return decode_http_body(
                record.body, record.http_headers, max_decoded_bytes=self.max_bytes
            )
        except Exception as error:  # noqa: BLE001 - its kind becomes the image's reason
            kind = getattr(error, "kind", type(error).__name__)
            raise WarcPayloadError(kind, str(error)) from error

    def _record(self, capture: Capture) -> WarcRecord:
        stream = self._positioned(capture)
        seen = 0
        for record in iter_warc_records(
            stream, capture.warc, max_record_bytes=self.max_record_bytes, verify_digests=False
        ):
            if not isinstance(record, WarcRecord):
                raise WarcPayloadError(record.error_type, record.message)
            if seen == capture.ordinal:
                if record.target_uri != capture.uri:
                    raise WarcPayloadError("warc_record_moved", f"no {capture.uri} at offset")
                return record
            seen += 1
        raise WarcPayloadError("warc_record_moved", f"no record at offset {capture.offset}")

    def _positioned(self, capture: Capture):
        stream = self._streams.get(capture.location)
        seekable = stream is not None and getattr(stream, "seekable", lambda: False)()
        if not seekable:
            if stream is not None:
                stream.close()
            stream = self._streams[capture.location] = open_warc_stream(capture.location)
            seekable = getattr(stream, "seekable", lambda: False)()
        if seekable:
            stream.seek(capture.offset)
        else:
            _skip(stream, capture.offset)
        return stream


def _skip(stream, size: int) -> None:
    while size > 0:
        chunk = stream.read(min(size, 1 << 20))
        if not chunk:
            raise WarcPayloadError("truncated_record", "end of file before the record offset")
        size -= len(chunk)
