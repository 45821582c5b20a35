"""The Networking v2.0 API: one module per resource."""
