"""The billing context: invoices for confirmed orders and their payments."""
