"""The search context's channels."""
