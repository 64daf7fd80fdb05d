"""Use cases, policies and read-side rules of the billing context; ports, no drivers."""
