"""Staying up through outages: kill switches, circuit breakers, bulkheads, rate limits."""
