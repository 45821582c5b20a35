"""Check strings shared by the identity rules (the shapes upstream's defaults use)."""

ADMIN = "role:admin"
SERVICE = "role:service"
SYSTEM_READER = "(role:reader and system_scope:all)"
DOMAIN_READER = "(role:reader and domain_id:%(target.domain_id)s)"
ADMIN_OR_SYSTEM_READER = f"{ADMIN} or {SYSTEM_READER}"
ADMIN_OR_READER = f"{ADMIN} or {SYSTEM_READER} or {DOMAIN_READER}"
OWNER = "user_id:%(target.user.id)s"
ADMIN_OR_READER_OR_OWNER = f"{ADMIN_OR_READER} or {OWNER}"
SCOPES = ["system", "domain", "project"]
