"""The Placement REST API: handlers per resource; :mod:`.router` is the one route table."""
