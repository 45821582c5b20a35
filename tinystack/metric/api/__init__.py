"""The metric (Gnocchi v1) API: handlers per resource, mounted by router.py."""
