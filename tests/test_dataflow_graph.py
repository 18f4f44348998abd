"""The whole run graph translates for Dataflow offline (``--dry_run=True``), nothing submitted."""

from __future__ import annotations

import pytest

from webweave.pipelines.cli import main

pytest.importorskip("apache_beam.runners.dataflow.internal.apiclient", reason="needs [gcp]")


def test_run_graph_builds_for_dataflow_without_submitting(tmp_path, capsys):
    code = main(
        [
            "run",
            "--input",
            "gs://placeholder-bucket/crawl-data/CC-MAIN-2099-01/*.warc.gz",
            "--output",
            "gs://placeholder-bucket/out",
            "--runner",
            "DataflowRunner",
            "--dry_run=True",
            "--project",
            "placeholder-project",
            "--region",
            "us-central1",
            "--temp_location",
            "gs://placeholder-bucket/tmp",
            "--sdk_location",
            "container",
        ]
    )
    assert code == 0
