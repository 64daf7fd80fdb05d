"""Adapters of the billing context: repositories, projections and outbound clients."""
