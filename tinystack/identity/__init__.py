"""Identity v3 (Keystone): users, projects, roles, the catalog and Fernet tokens."""
