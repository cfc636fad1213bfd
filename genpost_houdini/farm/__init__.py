"""Farm support: idempotent work units, job files, wedges, OpenJD bundles, PDG helpers."""
