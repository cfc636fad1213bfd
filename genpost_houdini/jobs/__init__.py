"""The jobs end to end: set extension and crowd replication."""
