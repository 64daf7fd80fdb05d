"""The wire contract: channels, command payloads, integration events and the envelope."""
