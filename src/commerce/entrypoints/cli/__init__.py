"""``commerce``: the operators' command line."""
