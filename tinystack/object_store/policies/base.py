"""Who owns an account (keystoneauth's ``operator_roles`` and ``reseller_admin_role``)."""

from __future__ import annotations

from oslo_policy import policy

OWNER = "object_store:swift_owner"
RESELLER = "object_store:reseller_admin"

RULES = [
    policy.RuleDefault(
        RESELLER,
        "role:ResellerAdmin",
        "keystoneauth's reseller_admin_role: may use every account.",
    ),
    policy.RuleDefault(
        OWNER,
        "(role:admin and project_id:%(project_id)s) or "
        "(role:member and project_id:%(project_id)s) or rule:" + RESELLER,
        "keystoneauth's operator_roles: owners of the account of their project "
        "(AUTH_<project_id>); they read and write everything in it.",
    ),
]
