"""webweave.filters."""
