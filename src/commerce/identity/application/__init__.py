"""Use cases, policies and read-side rules of the identity context; ports, no drivers."""
