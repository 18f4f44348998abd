"""Data contracts: one versioned Arrow schema per output table."""

from webweave.schemas import dead_letter, documents
from webweave.schemas.registry import SchemaMismatch, check_table, schema_id

__all__ = ["SchemaMismatch", "check_table", "dead_letter", "documents", "schema_id"]
