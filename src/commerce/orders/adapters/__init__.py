"""Adapters of the orders context: repositories, projections and outbound clients."""
