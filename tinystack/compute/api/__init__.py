"""The Compute API v2.1: one module per resource; ``router.py`` lists them."""
