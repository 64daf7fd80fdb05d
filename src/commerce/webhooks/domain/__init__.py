"""The webhooks domain: endpoints, signatures, retry schedule, address policy."""
