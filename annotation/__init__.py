"""webweave.annotation: human annotation rounds (Beam-free).

NIGHTS-style image triplets (``nights_build``, ``corpus_mining``, ``nights_rounds``,
``nights_finalize``) and TImeD-style text visualness (``timed_*``) share the round machinery:
round folders and their chain (``round_dir``), tool exports and result readers (``tools/``),
ingest with attention checks (``ingest``), agreement (``agreement``). Runbook:
``runbooks/annotation.md``.
"""
