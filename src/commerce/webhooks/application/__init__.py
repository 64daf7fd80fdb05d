"""Use cases and ports of the webhooks context."""
