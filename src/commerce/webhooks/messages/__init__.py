"""The published language of the webhooks context: its commands and channels."""
