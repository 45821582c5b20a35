"""The network service layer: one module per resource, each owning its transactions.

``deps.Deps`` is the one bundle every caller goes through.
"""
