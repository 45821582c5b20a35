"""A compact way to declare documented rules."""

from __future__ import annotations

from oslo_policy import policy

from tinystack.identity.policies.base import SCOPES


def rule(
    name: str,
    check: str,
    method: str,
    path: str,
    doc: str = "",
    scopes: list[str] | None = SCOPES,
) -> policy.DocumentedRuleDefault:
    return policy.DocumentedRuleDefault(
        name=f"identity:{name}",
        check_str=check,
        description=doc or name.replace("_", " ").capitalize() + ".",
        operations=[{"method": m, "path": path} for m in method.split(",")],
        scope_types=scopes,
    )
