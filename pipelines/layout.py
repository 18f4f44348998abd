"""The folders and files of a ``webweave run`` output (a contract: users' scripts read them).

DIR/documents/*.parquet       final documents (after text filters and dedup)
DIR/extracted/*.parquet       every extracted document, kept or not, with filter scores
DIR/dead_letter/*.parquet     records that failed, with the error
DIR/dedup_clusters/*.parquet  near-duplicate clusters: doc_id, cluster_id, cluster_size; one
                              file per extracted shard holding clustered documents
DIR/stats.json                the funnel, closing exactly
DIR/config.yaml               the effective configuration
DIR/_manifest/*.json          one completion record per input WARC (resume)
DIR/_progress/*.json          live heartbeats while a local run works
DIR/report.html, DIR/report/  webweave report: the page and its figures
"""

DOCUMENTS = "documents"
EXTRACTED = "extracted"
DEAD_LETTER = "dead_letter"
DEDUP_CLUSTERS = "dedup_clusters"
MANIFESTS = "_manifest"
PROGRESS = "_progress"
STATS = "stats.json"
CONFIG = "config.yaml"
REPORT_HTML = "report.html"
REPORT_FIGURES = "report"

# ``webweave images`` output (pipelines/images): documents/ (as above, with image outcomes),
# pairs/, images/ (bytes once per URL), image_results/ (one row per URL), dead_letter/,
# stats.json, images_job.json (what `images retry` re-runs).
PAIRS = "pairs"
IMAGES = "images"
IMAGE_RESULTS = "image_results"
IMAGES_JOB = "images_job.json"
