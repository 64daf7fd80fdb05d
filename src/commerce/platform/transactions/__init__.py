"""Units of work, group commit and running one command exactly once."""
