"""The search context: full-text indices of catalogue items, kept from integration events."""
