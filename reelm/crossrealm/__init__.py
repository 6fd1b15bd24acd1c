"""Public content across realms: projections, their replication, and the count of every crossing."""
