"""Structured logs, Prometheus metrics, tracing and redaction."""
