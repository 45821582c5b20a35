"""The HTTP layer shared by every service: app factory, errors, auth dependencies."""
