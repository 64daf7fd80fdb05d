"""Use cases, policies and read-side rules of the orders context; ports, no drivers."""
