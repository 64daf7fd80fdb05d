"""What the service is made of: every context's channels, consumers, queries and projections."""
