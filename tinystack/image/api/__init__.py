"""The Image v2 HTTP API: one module per resource, assembled by :mod:`router`."""
