"""Postgres: engine, tenant-scoped transactions (RLS), tables, inbox, event store, migrations."""
