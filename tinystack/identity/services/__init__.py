"""Identity's service layer: every function owns its transaction; no HTTP types here."""
