"""The sample WARC that ships inside webweave, for a first run without network access.

``pipelines/data/sample.warc.gz`` (package data, per-record gzip, about 0.5 MB) holds real
records of MIT- and Apache-2.0-licensed test WARCs: HTML pages, their request and metadata
records, and the JPEG, CSS and JS responses of one page. Every record's source repository,
commit and licence are in ``NOTICE``; ``tools/build_sample.py`` rebuilds the file byte for byte
from the fixtures and says how the records were chosen.
"""

from __future__ import annotations

from importlib import resources

SAMPLE_WARC_NAME = "sample.warc.gz"


def sample_warc_path() -> str:
    """Local path of the installed sample WARC (wheels and editable installs are unpacked)."""
    path = resources.files("webweave.pipelines") / "data" / SAMPLE_WARC_NAME
    if not path.is_file():
        raise FileNotFoundError(f"the sample WARC is missing from this installation: {path}")
    return str(path)
