"""``webweave capfilt``: BLIP CapFilt over a ``webweave images`` output, on Beam.

Modules: ``job`` (the graph: pairs grouped by image shard, models loaded once per worker, the
funnel, resume), ``results`` (rows of ``capfilt/``), ``refilter`` (new thresholds on stored
scores, no model run), ``exports`` (WebDataset shards, BLIP's JSON). The models and the
decisions are Beam-free, in ``webweave.filters.capfilt``; the runbook is ``runbooks/capfilt.md``.
"""
