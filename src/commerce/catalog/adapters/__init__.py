"""Adapters of the catalog context: repositories, projections and outbound clients."""
