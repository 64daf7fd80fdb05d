"""Adapters of the identity context: repositories, projections and outbound clients."""
