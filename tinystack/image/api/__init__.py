"""The Image v2 HTTP API: one handler module per resource; ``router.py`` is the route table."""
