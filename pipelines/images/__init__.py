"""The ``images`` job: a run's documents → fetched, checked images, documents with image
outcomes, image-text pairs; ``images retry`` re-fetches only retryable failures.

    webweave images RUN_DIR --output OUT [--from-warc PATH_OR_GLOB ...] [--allow-network CIDR ...]
                            [--offline] [--config FILE]      (pipelines/commands/images.py)
    webweave images retry OUT

Modules: ``config`` (the ``images:`` section), ``references`` (which images the documents
use), ``warc_lookup`` (archive index and lookup), ``batch`` (the image stages over a batch),
``sourcing`` (archive read, network fetch, candidate fallback), ``img2dataset_fetch`` and
``guarded_fetch`` (the network, behind the address policy), ``documents`` (documents/ and
pairs/), ``stats`` (stats.json), ``job`` (the graph and running it).

Graph (documents are never shuffled; only URLs, small per-image results and, with
``--from-warc``, a body-less index of the archive's captures):

    doc files → ReadImageRefs → (url, file) ──────────────────────────────────┐
                             → (url, candidates) → GroupByKey → MergeCandidates │ images
    --from-warc → IndexWarcCaptures → (surt key, Capture) ─┐                    │
    images → warc_lookup.look_up_images (rounds of CoGroupByKey over the index) │
           → (url, ImageLookup) ────────────────────────────┤                    │
    retry: image_results → (url, previous) ─────────────────┴→ CoGroupByKey(url) → batch key
        → GroupByKey(batch) → ProcessImageBatch
    ProcessImageBatch (batch.py): url_words → url_policy → sourcing (archive record read by
      offset, else img2dataset fetch, guarded, falling back to the next candidate:
      sourcing.py) → fetch → decode → image_filters; writes kept bytes to images/, per-URL rows to
      image_results/, failures to dead_letter/; emits small results (no bytes) and a report.
    results ⋈ (url, file) → GroupByKey(file) → WriteDocumentFile: rereads that input file,
      writes documents/ and pairs/ for it (deterministic names per input file), and emits
      (page WARC, url, lookup kind) for the per-WARC archive completeness counts.
    results → dedup counts by sha256 and pHash (Count.PerKey, a shuffle); all reports →
      stats.json (the funnel over distinct image URLs, plus the document funnel).

An image is a distinct image URL of the documents (``images[i]``, its preferred candidate);
its other candidates (``image_metadata[i].candidates``, merged over the documents that use
it) are where its bytes may also come from, never new images.

The funnel closes like ``webweave run``'s: ``image_funnel`` starts with the distinct image URLs
and ends with the kept ones; ``document_funnel`` starts with the documents read and ends with
the documents written. Every URL has one status; nothing is a silent gap.

Decisions: bytes are stored once per distinct URL in ``images/`` (bounded shards), pairs hold
a reference (``image_shard``, ``image_row``), so pairs and documents stay small; failed
image positions stay in the documents with their status (URLs kept as published); a document
whose kept images are fewer than ``min_images_per_document`` follows
``no_image_documents`` (``drop``, OBELICS's rule, or ``keep_text_only``), more than
``max_images_per_document`` (30) is dropped, as in OBELICS.
"""

# Only the config here: importing the package (as the job config does) must not load Beam's
# graph or img2dataset. The job's entry points are in ``webweave.pipelines.images.job``.
from webweave.pipelines.images.config import ImagesConfig, images_config

__all__ = ["ImagesConfig", "images_config"]
