"""The orders context: orders and their lines, event sourced."""
