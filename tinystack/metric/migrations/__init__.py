"""Alembic scripts for the metric database."""
