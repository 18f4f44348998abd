"""``stats.json`` of an annotation command: its funnel (closing exactly), counts, provenance."""

from __future__ import annotations

from pathlib import Path

from webweave.annotation.round_dir import write_json
from webweave.pipelines.funnel import Funnel
from webweave.schemas import annotation_stats
from webweave.schemas.json_records import stamped

STATS_FILE = "stats.json"


def write_stats(
    folder: Path,
    command: str,
    funnel: Funnel,
    counts: dict[str, int],
    provenance: dict[str, str],
    first_in: int | None = None,
    last_out: int | None = None,
) -> dict:
    """Write and return the record; ``first_in`` / ``last_out`` tie the funnel's ends to
    the numbers of items read and written."""
    problems = funnel.closure_problems(first_in=first_in, last_out=last_out)
    record = stamped(
        {
            "command": command,
            "funnel": funnel.to_list(),
            "funnel_closes": not problems,
            "funnel_problems": problems,
            "counts": {k: int(v) for k, v in counts.items()},
            "provenance": {k: str(v) for k, v in provenance.items()},
        },
        annotation_stats.SCHEMA,
    )
    write_json(folder / STATS_FILE, record)
    return record
