"""Placement service layer: one module per resource; each function owns its transaction."""
