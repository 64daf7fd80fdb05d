"""What the service's composition root gives the outbox, for tests that build a writer."""

from commerce.registry.events import integration_event_for

__all__ = ["PUBLISHED_AS"]

PUBLISHED_AS = integration_event_for
"""The service's mapping from domain events to the integration events it publishes."""
