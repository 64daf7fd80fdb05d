"""The orders context's pure model: aggregates, events, rules (stdlib and platform kit)."""
