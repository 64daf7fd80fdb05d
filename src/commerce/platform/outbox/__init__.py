"""The outbox: staged integration events and the relay that publishes them."""
