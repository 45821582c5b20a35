"""Alembic scripts for the placement database."""
