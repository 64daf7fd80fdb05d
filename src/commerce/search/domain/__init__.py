"""Search documents, tombstones and queries: plain values, no driver."""
