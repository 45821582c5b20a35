"""Placement: resource providers, inventories, allocations and allocation candidates."""
