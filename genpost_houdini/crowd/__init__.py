"""Crowd replication pieces: sources (with consent), placement on a region prim, card rendering."""
