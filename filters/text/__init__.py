"""Text filters: OBELICS paragraph- and document-level rules, Gopher repetition, language ID.

Read in this order: ``config`` (the typed ``text_filters:`` section), ``rules`` (the rule
table and its one evaluator), ``scores`` (every score, computed once), ``paragraphs`` (split,
decide, rebuild, trace), ``stages`` (the two stages of ``webweave run``), ``refilter`` (new
thresholds on stored scores). ``normalization`` and ``repetition`` hold the vectorised
tokenisation and repetition scores; ``language_id``, ``wordlists`` and ``quality_classifier``
the models and lists the scores use.
"""
