"""BLIP CapFilt, Beam-free: captions, ITM and CLIP scores, late decisions (issue #13).

Modules, in the order a pair meets them: ``config`` (the ``capfilt:`` section), ``models``
(loading, offline-safe, weight hashes), ``images`` (decode and resize), ``captioner`` (nucleus
sampling with ``sampling``'s per-caption generators), ``matching`` (ITM with a shared vision
pass), ``ranking`` (BLIP-2's CLIP ranking), ``engine`` (the batch loop: decode threads, OOM
halving), ``web_text`` and ``decisions`` (which texts are kept, from stored scores).
``attention`` (SDPA for BLIP's vision tower) and ``batch_invariance`` (CPU results
independent of the batch) are speed and reproducibility pieces the engine applies.
"""
