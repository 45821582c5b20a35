"""The volume service layer: one module per resource; each owns its transactions and
returns the frozen records of ``records.py``."""
