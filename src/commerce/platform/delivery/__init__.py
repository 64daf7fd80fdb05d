"""Retry rounds, delayed redelivery, dead letters, their store and console, sequencing."""
