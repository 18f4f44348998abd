"""Exact expectations for URL, image-URL frequency, paragraph and image-set dedup."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from webweave.filters.minhash import MinHashSignature, paragraph_hash
from webweave.pipelines.dedup import (
    DROP_DOCUMENT,
    IMAGE_SET_DUPLICATE,
    IMAGE_URL_TOO_FREQUENT,
    PARAGRAPH_DUPLICATE_IN_DOMAIN,
    REMOVE_IMAGE,
    REMOVE_PARAGRAPH,
    URL_DUPLICATE,
    ActionsByShard,
    DedupAction,
    DedupConfig,
    DedupKey,
    Deduplicate,
    ImageSetDedup,
    ImageUrlFrequency,
    ParagraphDedup,
    UrlDedup,
    capture_time_us,
    make_dedup_key,
    shard_actions,
)
from webweave.pipelines.dedup.image_set_dedup import image_set_key

from conftest import BEAM_TEST_RUNNER

DEFAULTS = DedupConfig.default()


def key(
    doc_id: str,
    url: str = "",
    date: str = "2023-01-01T00:00:00Z",
    domain: str = "example.com",
    images: tuple[str, ...] = (),
    paragraphs: tuple[int, ...] = (),
    shard: str = "shard-0",
) -> DedupKey:
    return DedupKey(
        doc_id=doc_id,
        shard=shard,
        url=url or f"https://{domain}/{doc_id}",
        capture_time_us=capture_time_us(date),
        domain=domain,
        image_urls=images,
        paragraph_hashes=paragraphs,
        band_keys=(),
    )


def drop(doc: DedupKey, reason: str, kept: str) -> DedupAction:
    return DedupAction(doc.shard, doc.doc_id, DROP_DOCUMENT, reason, kept_doc_id=kept)


def test_capture_time_parses_warc_dates() -> None:
    assert capture_time_us("1970-01-01T00:00:01Z") == 1_000_000
    assert (
        capture_time_us("2023-02-01T10:00:00.5Z")
        == capture_time_us("2023-02-01T10:00:00Z") + 500_000
    )
    assert capture_time_us("2023-02-01T12:00:00+02:00") == capture_time_us("2023-02-01T10:00:00Z")
    assert capture_time_us("garbage") == 0


def test_url_dedup_keeps_latest_then_smallest_doc_id() -> None:
    url = "https://example.com/story"
    old = key("c", url, "2021-05-01T00:00:00Z")
    new_b = key("b", url, "2023-02-01T00:00:00Z", shard="shard-1")
    new_a = key("a", url, "2023-02-01T00:00:00Z")
    other = key("z", "https://example.com/other", "2020-01-01T00:00:00Z")
    with BeamTestPipeline(runner=BEAM_TEST_RUNNER) as pipeline:
        result = pipeline | beam.Create([old, new_b, new_a, other]) | UrlDedup()
        assert_that(result["survivors"], equal_to([new_a, other]), label="survivors")
        assert_that(
            result["actions"],
            equal_to([drop(old, URL_DUPLICATE, "a"), drop(new_b, URL_DUPLICATE, "a")]),
            label="actions",
        )
        assert_that(result["stats"], equal_to([("url_duplicate.drop_document", 2)]), label="stats")


def test_image_url_in_more_than_n_documents_is_removed_everywhere() -> None:
    frequent, borderline = "https://cdn.example.com/logo.png", "https://cdn.example.com/ten.png"
    docs = [key(f"d{i:02d}", images=(frequent, f"https://img/{i}.jpg")) for i in range(10)]
    docs.append(key("d10", images=(frequent, "https://img/x.jpg", frequent)))  # 11th doc, twice
    docs += [key(f"e{i:02d}", images=(borderline,)) for i in range(10)]  # exactly 10: kept
    docs.append(key("no-images"))
    expected_survivors = [
        doc._replace(image_urls=tuple(u for u in doc.image_urls if u != frequent)) for doc in docs
    ]
    expected_actions = [
        DedupAction(doc.shard, doc.doc_id, REMOVE_IMAGE, IMAGE_URL_TOO_FREQUENT, frequent)
        for doc in docs[:11]
    ]
    with BeamTestPipeline(runner=BEAM_TEST_RUNNER) as pipeline:
        result = (
            pipeline
            | beam.Create(docs)
            | ImageUrlFrequency(DEFAULTS.replace(max_image_documents=10))
        )
        assert_that(result["survivors"], equal_to(expected_survivors), label="survivors")
        assert_that(result["actions"], equal_to(expected_actions), label="actions")
        assert_that(result["flagged_urls"], equal_to([frequent]), label="flagged")
        assert_that(
            result["stats"],
            equal_to([("image_url_too_frequent.remove_image", 11)]),
            label="stats",
        )
    positions = pipeline.result.metrics().query()["counters"]
    removed = [c.committed for c in positions if c.key.metric.name == "image_positions_removed"]
    assert removed == [12]  # 10 documents x 1 position + 1 document x 2 positions


def test_paragraph_in_three_documents_of_a_domain_is_removed_from_all() -> None:
    footer, shared, twice = (
        paragraph_hash("Subscribe!"),
        paragraph_hash("Shared"),
        paragraph_hash("x"),
    )
    unique = [paragraph_hash(f"unique {i}") for i in range(6)]
    docs = [
        key("a1", domain="a.com", paragraphs=(unique[0], footer, shared)),
        key("a2", domain="a.com", paragraphs=(unique[1], footer, shared, twice)),
        key("a3", domain="a.com", paragraphs=(footer, twice, twice), shard="shard-9"),
        key("b1", domain="b.com", paragraphs=(unique[2], shared, footer)),  # other domain
        key("b2", domain="b.com", paragraphs=(unique[3],)),
    ]
    expected = [
        DedupAction(
            doc.shard,
            doc.doc_id,
            REMOVE_PARAGRAPH,
            PARAGRAPH_DUPLICATE_IN_DOMAIN,
            paragraph_hash=footer,
        )
        for doc in docs[:3]
    ]  # `shared` is in 2 a.com docs (+1 on b.com); `twice` is in 2 docs (3 occurrences)
    with BeamTestPipeline(runner=BEAM_TEST_RUNNER) as pipeline:
        result = (
            pipeline
            | beam.Create(docs)
            | ParagraphDedup(DEFAULTS.replace(min_paragraph_documents=3))
        )
        assert_that(result["actions"], equal_to(expected), label="actions")
        assert_that(result["survivors"], equal_to(docs), label="survivors")


def test_image_set_dedup_keeps_latest_per_set_and_ignores_imageless_documents() -> None:
    a, b, c = "https://i/a.jpg", "https://i/b.jpg", "https://i/c.jpg"
    old = key("old", images=(a, b), date="2021-01-01T00:00:00Z")
    new = key("new", images=(b, a, b), date="2023-01-01T00:00:00Z")  # same set, other order
    superset = key("sup", images=(a, b, c), date="2020-01-01T00:00:00Z")
    bare = [key("t1"), key("t2")]  # no images: never "the same set"
    with BeamTestPipeline(runner=BEAM_TEST_RUNNER) as pipeline:
        result = pipeline | beam.Create([old, new, superset, *bare]) | ImageSetDedup()
        assert_that(result["survivors"], equal_to([new, superset, *bare]), label="survivors")
        assert_that(
            result["actions"], equal_to([drop(old, IMAGE_SET_DUPLICATE, "new")]), label="actions"
        )


def test_image_set_key_is_delimited_and_order_free() -> None:
    assert image_set_key(["b", "a", "a"]) == image_set_key(["a", "b"])
    assert image_set_key(["ab", "c"]) != image_set_key(["a", "bc"])
    assert len(image_set_key(["a"])) == 16


def test_deduplicate_runs_steps_on_survivors_in_order() -> None:
    """A repeat capture neither counts towards image frequency nor survives image-set dedup."""
    logo = "https://cdn/logo.png"
    config = DEFAULTS.replace(near_duplicates=False, max_image_documents=2)
    first = key("p1", "https://s.com/p", "2022-01-01T00:00:00Z", images=(logo, "https://i/1"))
    recapture = key("p2", "https://s.com/p", "2023-01-01T00:00:00Z", images=(logo, "https://i/1"))
    other = key("q", "https://s.com/q", images=(logo, "https://i/2"))
    copy_set = key("r", "https://s.com/r", "2019-01-01T00:00:00Z", images=("https://i/2",))
    with BeamTestPipeline(runner=BEAM_TEST_RUNNER) as pipeline:
        result = pipeline | beam.Create([first, recapture, other, copy_set]) | Deduplicate(config)
        # logo is in 2 surviving documents (p2, q): not > 2, kept; p1 is not counted.
        assert_that(
            result["actions"] | beam.Map(lambda a: (a.doc_id, a.reason)),
            equal_to([("p1", URL_DUPLICATE)]),
            label="actions",
        )
        assert_that(
            result["survivors"] | beam.Map(lambda k: k.doc_id),
            equal_to(["p2", "q", "r"]),
            label="survivors",
        )


def test_deduplicate_image_set_sees_images_left_after_frequency_removal() -> None:
    logo = "https://cdn/logo.png"
    config = DEFAULTS.replace(near_duplicates=False, max_image_documents=2)
    docs = [
        key("x", images=(logo, "https://i/shared"), date="2023-01-01T00:00:00Z"),
        key("y", images=("https://i/shared", logo), date="2022-01-01T00:00:00Z"),
        key("z", images=(logo,), date="2022-01-01T00:00:00Z"),
    ]
    with BeamTestPipeline(runner=BEAM_TEST_RUNNER) as pipeline:
        result = pipeline | beam.Create(docs) | Deduplicate(config)
        assert_that(
            result["actions"] | beam.Map(lambda a: (a.doc_id, a.kind, a.reason)),
            equal_to(
                [
                    ("x", REMOVE_IMAGE, IMAGE_URL_TOO_FREQUENT),
                    ("y", REMOVE_IMAGE, IMAGE_URL_TOO_FREQUENT),
                    ("z", REMOVE_IMAGE, IMAGE_URL_TOO_FREQUENT),
                    ("y", DROP_DOCUMENT, IMAGE_SET_DUPLICATE),  # {shared} == {shared}
                ]
            ),
            label="actions",
        )
        assert_that(
            result["stats"],
            equal_to(
                [
                    ("image_url_too_frequent.remove_image", 3),
                    ("image_set_duplicate.drop_document", 1),
                ]
            ),
            label="stats",
        )


def test_removed_fraction_guard_fails_the_job() -> None:
    url = "https://example.com/same"
    docs = [key(f"d{i}", url, f"202{i}-01-01T00:00:00Z") for i in range(4)]
    with pytest.raises(Exception, match="removed 3 of 4"):
        with BeamTestPipeline(runner=BEAM_TEST_RUNNER) as pipeline:
            _ = pipeline | beam.Create(docs) | UrlDedup(DEFAULTS.replace(max_removed_fraction=0.5))


def test_actions_by_shard_folds_one_shard() -> None:
    actions = [
        DedupAction("s1", "a", DROP_DOCUMENT, URL_DUPLICATE, kept_doc_id="b"),
        DedupAction("s1", "a", REMOVE_IMAGE, IMAGE_URL_TOO_FREQUENT, "https://i/1"),
        DedupAction("s1", "c", REMOVE_IMAGE, IMAGE_URL_TOO_FREQUENT, "https://i/1"),
        DedupAction("s1", "c", REMOVE_PARAGRAPH, PARAGRAPH_DUPLICATE_IN_DOMAIN, paragraph_hash=7),
        DedupAction("s2", "d", REMOVE_PARAGRAPH, PARAGRAPH_DUPLICATE_IN_DOMAIN, paragraph_hash=-3),
    ]
    folded = shard_actions(actions[:4])
    assert folded.dropped == {"a": URL_DUPLICATE}
    assert folded.removed_images == {"c": frozenset({"https://i/1"})}  # a's is moot: dropped
    assert folded.removed_paragraphs == {"c": frozenset({7})}
    with BeamTestPipeline(runner=BEAM_TEST_RUNNER) as pipeline:
        grouped = pipeline | beam.Create(actions) | ActionsByShard()
        assert_that(
            grouped | beam.MapTuple(lambda shard, folded: (shard, sorted(folded.dropped))),
            equal_to([("s1", ["a"]), ("s2", [])]),
        )


def test_config_rejects_unknown_and_useless_settings() -> None:
    from webweave.pipelines.dedup.keys import UrlOptions
    from webweave.schemas.config import ConfigError

    config = DEFAULTS.replace(minhash_bands=20, drop_params=["REF"])
    assert config.minhash_bands == 20 and UrlOptions.of(config).drop_params == frozenset({"ref"})
    with pytest.raises(ConfigError, match="unknown config key 'dedup.minhash_band'"):
        DedupConfig.parse({**DEFAULTS.to_dict(), "minhash_band": 20})
    with pytest.raises(ConfigError, match="dedup.min_paragraph_documents = 1: must be >= 2"):
        DEFAULTS.replace(min_paragraph_documents=1)
    with pytest.raises(ConfigError, match="dedup.minhash_bands = -3: must be >= 1"):
        DEFAULTS.replace(minhash_bands=-3)


def test_make_dedup_key_from_a_document() -> None:
    from webweave.pipelines.dedup.keys import UrlOptions

    texts = ["Intro text here.\n\nSubscribe now!", None, "Body paragraph."]
    images = [None, "https://i/a.jpg", None]
    doc_key = make_dedup_key(
        "doc-1",
        "shard-3",
        "HTTPS://News.Example.co.uk:443/a?utm_source=x",
        "2023-02-01T10:00:00Z",
        texts,
        images,
        MinHashSignature(),
        UrlOptions.of(DEFAULTS),
    )
    assert doc_key.url == "https://news.example.co.uk/a"
    assert doc_key.domain == "example.co.uk"
    assert doc_key.image_urls == ("https://i/a.jpg",)
    assert doc_key.paragraph_hashes == (
        paragraph_hash("Intro text here."),
        paragraph_hash("Subscribe now!"),
        paragraph_hash("Body paragraph."),
    )
    assert len(doc_key.band_keys) == 14


class _LazyGroup:
    """A re-iterable group that makes its members on the fly, like Beam's grouped values."""

    def __init__(self, size: int, make):
        self._size, self._make = size, make

    def __iter__(self):
        return (self._make(i) for i in range(self._size))


def _peak_bytes(outputs) -> int:
    """Peak traced allocation while draining a reducer's outputs (each output dropped)."""
    import tracemalloc

    tracemalloc.start()
    try:
        for _ in outputs:
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("size", [2_000, 40_000])
def test_reducers_stream_their_groups(size: int) -> None:
    """Memory per group stays flat from 2k to 40k members: no reducer holds its group."""
    from webweave.pipelines.dedup.connected_components import large_star, star_edges
    from webweave.pipelines.dedup.image_url_frequency import _FlagFrequentImage
    from webweave.pipelines.dedup.paragraph_dedup import _FlagDomainParagraph
    from webweave.pipelines.dedup.step import KeepOnePerGroup

    def packed(i: int) -> tuple:
        return tuple(key(f"d{i:07d}", "https://example.com/same", shard=f"s{i % 9}"))

    reducers = {
        "keep_one": KeepOnePerGroup(URL_DUPLICATE).process(("u", _LazyGroup(size, packed))),
        "image_frequency": _FlagFrequentImage(10).process(
            ("https://i/logo", _LazyGroup(size, lambda i: f"d{i:07d}"))
        ),
        "paragraphs": _FlagDomainParagraph(3).process(
            (("a.com", 5), _LazyGroup(size, lambda i: (f"d{i:07d}", "s0")))
        ),
        "bucket_star": star_edges(_LazyGroup(size, lambda i: (-i, f"d{i:07d}"))),
        "large_star": large_star((0, ""), _LazyGroup(size, lambda i: (i + 1, "x"))),
    }
    for name, outputs in reducers.items():
        peak = _peak_bytes(outputs)
        print(f"{name}: {size} members, peak {peak / 1024:.0f} KiB")
        assert peak < 256 * 1024, name


def test_image_frequency_guard_catches_a_step_that_flags_everything() -> None:
    """OBELICS lesson 1: a global step that flags (nearly) every URL is a bug, not a result."""
    docs = [key(f"d{i}", images=(f"https://i/{i % 3}.jpg",)) for i in range(9)]
    with pytest.raises(Exception, match="ImageUrlFrequency removed 3 of 3"):
        with BeamTestPipeline(runner=BEAM_TEST_RUNNER) as pipeline:
            _ = (
                pipeline
                | beam.Create(docs)
                | ImageUrlFrequency(
                    DEFAULTS.replace(max_image_documents=1, max_removed_fraction=0.9)
                )
            )
