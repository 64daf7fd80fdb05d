"""The orders context's wire contract: command payloads, integration events and queries."""
