"""Drivers of the webhooks context: the secret cipher, the HTTP sender, the address resolver."""
