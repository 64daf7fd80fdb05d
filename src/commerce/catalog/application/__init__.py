"""Use cases, policies and read-side rules of the catalog context; ports, no drivers."""
