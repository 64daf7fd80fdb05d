"""The domain model: pure Python, standard library only."""
