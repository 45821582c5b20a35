"""The Skyline API server's routes (``/api/openstack/skyline/api/v1/...``), the
pass-through (``/api/openstack/<region>/<service>/...``) and the console's files."""
