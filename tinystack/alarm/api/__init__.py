"""The alarm API: Aodh's v2 routes and handlers."""
