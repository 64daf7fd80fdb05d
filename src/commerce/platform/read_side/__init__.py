"""The read side kit: projections, the L1/L2 cache, the query server and client."""
