"""The Block Storage v3 API: one module per resource, the route table in ``router.py``."""
