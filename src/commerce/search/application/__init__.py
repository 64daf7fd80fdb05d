"""The search port and the indexing fold."""
