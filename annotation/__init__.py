"""webweave.annotation."""
