"""Outbound webhooks: tenants subscribe HTTP endpoints to integration events (ADR 0029)."""
