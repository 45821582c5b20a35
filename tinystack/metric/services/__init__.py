"""The metric service layer: one module per resource, each owning its transactions."""
