"""webweave.annotation: NIGHTS-style triplet and TImeD-style visualness rounds (not built yet)."""
