"""The catalog context: items for sale, their prices and stock."""
