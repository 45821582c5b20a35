"""Authorization of what must be loaded first: upstream's targets, checked with ``ctx.can``.

Handlers authorize what the request names (a create, a list); the service layer
authorizes what it loads (a user, group, project or role by id) before acting on it.
"""

from __future__ import annotations

from collections.abc import Mapping

from tinystack.common.auth.context import RequestContext
from tinystack.identity.services.records import Group, Project, User

Target = dict[str, object]


def _prune(value: object) -> object:
    if isinstance(value, Mapping):
        return {k: _prune(v) for k, v in value.items() if v is not None}
    return value


def enforce(ctx: RequestContext, rule: str, target: Mapping[str, object] | None = None) -> None:
    """Enforce ``rule`` on ``target``, leaving out attributes that are None.

    oslo.policy renders a None target value as the string "None", which equals the
    rendering of a credential the token does not have: ``domain_id:%(target.domain_id)s``
    would let every project-scoped token through when the target has no domain. A
    missing attribute makes such a check fail, as upstream's targets do.
    """
    pruned = _prune(target or {})
    assert isinstance(pruned, dict)
    ctx.can(rule, pruned)


def user_target(user: User) -> Target:
    return {
        "target": {
            "user": {"id": user.id, "domain_id": user.domain_id},
            "domain_id": user.domain_id,
        }
    }


def group_target(group: Group) -> Target:
    return {
        "target": {"group": {"id": group.id, "domain_id": group.domain_id}},
        "domain_id": group.domain_id,
    }


def project_target(project: Project) -> Target:
    return {
        "target": {
            "project": {"id": project.id, "domain_id": project.domain_id},
            "domain_id": project.domain_id,
        }
    }


def role_target(domain_id: str | None) -> Target:
    return {"target": {"role": {"domain_id": domain_id}, "domain_id": domain_id}}
