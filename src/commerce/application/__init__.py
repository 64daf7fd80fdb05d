"""Use cases: command handlers, policies and the ports they need; no drivers."""
