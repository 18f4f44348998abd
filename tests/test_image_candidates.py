"""Every candidate URL of an image, in order of preference, and reading documents written
before candidates existed (issue #17)."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from webweave.filters.document import ImageCandidate
from webweave.filters.extraction import extract
from webweave.filters.image_sources import choose_source, image_candidates, ordered_sources
from webweave.pipelines.curation import read_extracted
from webweave.pipelines.obelics_export import export_obelics
from webweave.schemas import documents, extracted
from webweave.schemas.registry import SchemaMismatch, versioned

URL = "http://example.org/wiki/Mona_Lisa"
TEXT = "<p>The portrait was painted in oil on a poplar panel between 1503 and 1519.</p>"


def candidates_of(img: str, base: str = URL) -> list[tuple]:
    doc = extract(f"<html><body><article>{TEXT}{img}{TEXT}</article></body></html>", base)
    (meta,) = [m for m in doc.image_metadata if m is not None]
    (url,) = [u for u in doc.images if u is not None]
    assert meta.candidates[0].url == url  # images[i] is the preferred candidate
    return [
        (c.url, c.original_src, c.attribute, c.descriptor_width, c.descriptor_density)
        for c in meta.candidates
    ]


def test_srcset_only_largest_first():
    img = '<img srcset="/m/220px.jpg 220w, /m/440px.jpg 440w, /m/330px.jpg 330w">'
    assert candidates_of(img) == [
        ("http://example.org/m/440px.jpg", "/m/440px.jpg", "srcset", 440, None),
        ("http://example.org/m/330px.jpg", "/m/330px.jpg", "srcset", 330, None),
        ("http://example.org/m/220px.jpg", "/m/220px.jpg", "srcset", 220, None),
    ]


def test_src_and_density_srcset_like_wikipedia():
    img = (
        '<img src="//upload.example.org/t/220px-Mona.jpg" '
        'srcset="//upload.example.org/t/330px-Mona.jpg 1.5x, '
        '//upload.example.org/t/440px-Mona.jpg 2x">'
    )
    host = "http://upload.example.org/t"
    assert candidates_of(img) == [
        (f"{host}/440px-Mona.jpg", "//upload.example.org/t/440px-Mona.jpg", "srcset", None, 2.0),
        (f"{host}/330px-Mona.jpg", "//upload.example.org/t/330px-Mona.jpg", "srcset", None, 1.5),
        (f"{host}/220px-Mona.jpg", "//upload.example.org/t/220px-Mona.jpg", "src", None, None),
    ]


def test_lazy_attributes_first_when_src_is_a_placeholder():
    img = (
        '<img src="/img/blank.gif" data-src="/lazy/a.jpg" '
        'data-srcset="/lazy/a-1.jpg 1x, /lazy/a-2.jpg 2x" srcset="/s/a-600.jpg 600w">'
    )
    base = "http://example.org"
    assert candidates_of(img) == [
        (f"{base}/lazy/a-2.jpg", "/lazy/a-2.jpg", "data-srcset", None, 2.0),
        (f"{base}/lazy/a-1.jpg", "/lazy/a-1.jpg", "data-srcset", None, 1.0),
        (f"{base}/lazy/a.jpg", "/lazy/a.jpg", "data-src", None, None),
        (f"{base}/s/a-600.jpg", "/s/a-600.jpg", "srcset", 600, None),
        (f"{base}/img/blank.gif", "/img/blank.gif", "src", None, None),  # last resort
    ]


def test_lazy_attributes_after_a_real_src():
    img = '<img src="/real.jpg" data-src="/lazy/big.jpg" data-original="/orig.jpg">'
    assert candidates_of(img) == [
        ("http://example.org/real.jpg", "/real.jpg", "src", None, None),
        ("http://example.org/lazy/big.jpg", "/lazy/big.jpg", "data-src", None, None),
        ("http://example.org/orig.jpg", "/orig.jpg", "data-original", None, None),
    ]


def test_picture_sources_compete_and_duplicates_and_data_uris_are_left_out():
    img = (
        '<picture><source srcset="/p-400.webp 400w, /p-1600.webp 1600w">'
        '<img src="/p-400.webp" srcset="/p-800.jpg 800w, data:image/png;base64,AAAA 900w" '
        'data-src="data:image/gif;base64,R0lG"></picture>'
    )
    assert candidates_of(img) == [
        ("http://example.org/p-1600.webp", "/p-1600.webp", "srcset", 1600, None),
        ("http://example.org/p-800.jpg", "/p-800.jpg", "srcset", 800, None),
        ("http://example.org/p-400.webp", "/p-400.webp", "srcset", 400, None),
    ]


def test_percent_encoded_commas_and_spaces_resolve_like_the_image_url():
    # A space cannot be inside a srcset URL (it separates the descriptor); in src it is %20.
    img = '<img src="/m/Mona Lisa, detail.jpg" srcset="/m/440px-Mona_Lisa%2C_detail.jpg 2x">'
    assert candidates_of(img) == [
        ("http://example.org/m/440px-Mona_Lisa%2C_detail.jpg", "/m/440px-Mona_Lisa%2C_detail.jpg",
         "srcset", None, 2.0),
        ("http://example.org/m/Mona%20Lisa,%20detail.jpg", "/m/Mona Lisa, detail.jpg", "src",
         None, None),
    ]  # fmt: skip


def test_choose_source_is_the_first_ordered_source():
    cases = [
        {"src": "a.jpg", "srcset": "b.jpg 2x, c.jpg 3x"},
        {"src": "spacer.gif", "data-lazy-src": "d.jpg"},
        {"src": "data:image/gif;base64,R0lG", "data-src": "data:x", "srcset": "e.jpg 10w"},
        {"srcset": "f.jpg, g.jpg 1x"},  # equal sizes: document order
        {"src": "  "},
    ]
    for attrs in cases:
        ordered = ordered_sources(attrs)
        assert choose_source(attrs) == (ordered[0] if ordered else None)
    assert choose_source({"srcset": "f.jpg, g.jpg 1x"}).value == "f.jpg"
    assert choose_source({"src": "  "}) is None
    assert image_candidates({"src": "javascript:x()", "srcset": "h.jpg 2x"}, (), URL) == [
        ImageCandidate("http://example.org/wiki/h.jpg", "h.jpg", "srcset", None, 2.0)
    ]


# --- documents written before version 3 -----------------------------------------------------


def _previous(schema: pa.Schema, name: str, version: int) -> pa.Schema:
    """``schema`` as it was before issue #17: image_metadata without candidates."""
    fields = []
    for field in schema:
        if field.name == "image_metadata":
            struct = field.type.value_type
            kept = [f for f in struct if f.name != "candidates"]
            field = pa.field("image_metadata", pa.list_(pa.struct(kept)))
        fields.append(field)
    return versioned(pa.schema(fields), name, version)


def _old_row() -> dict:
    meta = {"alt_text": "a", "caption": None, "width_attr": None, "height_attr": None,
            "original_src": "/a.jpg", "source_attribute": "src"}  # fmt: skip
    return {
        "id": "d1",
        "texts": ["Text.", None],
        "images": [None, "http://example.org/a.jpg"],
        "image_metadata": [None, meta],
        "general_metadata": None,
        "filter_scores": None,
    }


def test_documents_of_the_previous_version_read_with_null_candidates(tmp_path):
    old = _previous(documents.SCHEMA, "documents", 2)
    path = tmp_path / "old.parquet"
    pq.write_table(pa.Table.from_pylist([_old_row()], schema=old), path)
    table = documents.upgrade_table(pq.read_table(path))
    assert table.schema.equals(documents.SCHEMA, check_metadata=False)
    assert table.to_pylist()[0]["image_metadata"][1]["candidates"] is None
    assert table.to_pylist()[0]["image_metadata"][1]["original_src"] == "/a.jpg"

    too_old = _previous(documents.SCHEMA, "documents", 1)
    with pytest.raises(SchemaMismatch, match="older than this reader reads"):
        documents.upgrade_table(pa.Table.from_pylist([_old_row()], schema=too_old))
    newer = versioned(documents.SCHEMA, "documents", documents.VERSION + 1)
    with pytest.raises(SchemaMismatch, match="newer than this reader"):
        documents.upgrade_table(pa.Table.from_pylist([], schema=newer))


def test_extracted_of_the_previous_version_read_with_null_candidates(tmp_path):
    old = _previous(extracted.SCHEMA, "extracted", 1)
    row = {**_old_row(), "drop_reason": None, "paragraph_filter": None}
    table = extracted.upgrade_table(pa.Table.from_pylist([row], schema=old))
    assert table.to_pylist()[0]["image_metadata"][1]["candidates"] is None
    # What refilter, report and the final rewrite read (a run folder of the previous version):
    path = tmp_path / "old-extracted.parquet"
    pq.write_table(pa.Table.from_pylist([row], schema=old), path)
    read = read_extracted(str(path))
    assert read.schema.equals(extracted.SCHEMA, check_metadata=False)
    assert read.to_pylist()[0]["image_metadata"][1]["candidates"] is None
    assert read_extracted(str(path), ["id", "images"]).to_pylist() == [
        {"id": "d1", "images": [None, "http://example.org/a.jpg"]}
    ]


def test_export_obelics_reads_documents_of_the_previous_version(tmp_path):
    old = _previous(documents.SCHEMA, "documents", 2)
    row = {**_old_row(), "general_metadata": {"url": "http://example.org/p"}}
    (tmp_path / "run" / "documents").mkdir(parents=True)
    table = pa.Table.from_pylist([row], schema=old)
    pq.write_table(table, tmp_path / "run" / "documents" / "old-00000.parquet")
    assert export_obelics(str(tmp_path / "run"), str(tmp_path / "obelics")) == 1
    (exported,) = pq.read_table(tmp_path / "obelics").to_pylist()
    assert json.loads(exported["metadata"])[1]["unformatted_src"] == "/a.jpg"
