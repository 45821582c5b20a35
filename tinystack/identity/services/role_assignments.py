"""``GET /v3/role_assignments``: raw or effective assignments, with filters and names."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.identity import models
from tinystack.identity.services import assignments, roles
from tinystack.identity.services.assignments import SYSTEM
from tinystack.identity.services.deps import Deps


@dataclass(frozen=True)
class Row:
    actor: str  # user | group
    actor_id: str
    target: str  # project | domain | system
    target_id: str
    role_id: str
    inherited: bool = False
    #: how an effective row was derived: group id, prior role id, inheriting target
    via_group: str | None = None
    prior_role: str | None = None
    inherited_from: tuple[str, str] | None = None


@dataclass
class Filters:
    user_id: str | None = None
    group_id: str | None = None
    role_id: str | None = None
    project_id: str | None = None
    domain_id: str | None = None
    system: bool = False
    inherited_only: bool = False
    effective: bool = False
    include_subtree: bool = False
    include_names: bool = False
    #: a domain-scoped caller sees only assignments on its domain and the domain's projects
    within_domain: str | None = None
    names: dict[Any, Any] = field(default_factory=dict)


def _raw(session: Session) -> list[Row]:
    out = []
    for a in session.scalars(select(models.Assignment)):
        actor = "user" if a.type.startswith("User") else "group"
        target = a.type[len(actor) :].lower()
        out.append(Row(actor, a.actor_id, target, a.target_id, a.role_id, a.inherited))
    return out


def _expand_groups(session: Session, rows: list[Row]) -> list[Row]:
    out = []
    for row in rows:
        if row.actor == "group":
            for user_id in assignments.group_members(session, row.actor_id):
                out.append(replace(row, actor="user", actor_id=user_id, via_group=row.actor_id))
        else:
            out.append(row)
    return out


def _expand_inherited(session: Session, rows: list[Row]) -> list[Row]:
    out = []
    for row in rows:
        if not row.inherited:
            out.append(row)
            continue
        if row.target == "domain":
            targets = list(
                session.scalars(
                    select(models.Project.id).where(models.Project.domain_id == row.target_id)
                )
            )
        else:
            targets = assignments.subtree(session, row.target_id)
        for project_id in targets:
            out.append(
                replace(
                    row,
                    target="project",
                    target_id=project_id,
                    inherited=False,
                    inherited_from=(row.target, row.target_id),
                )
            )
    return out


def _expand_implied(session: Session, rows: list[Row]) -> list[Row]:
    graph = roles.implications(session)
    out = []
    for row in rows:
        out.append(row)
        seen = {row.role_id}
        stack = [row.role_id]
        while stack:
            prior = stack.pop()
            for implied in graph.get(prior, ()):
                if implied not in seen:
                    seen.add(implied)
                    stack.append(implied)
                    out.append(replace(row, role_id=implied, prior_role=prior))
    return out


def _matches(session: Session, row: Row, f: Filters) -> bool:
    if f.user_id is not None and not (row.actor == "user" and row.actor_id == f.user_id):
        return False
    if f.group_id is not None and not (row.actor == "group" and row.actor_id == f.group_id):
        return False
    if f.role_id is not None and row.role_id != f.role_id:
        return False
    if f.project_id is not None:
        wanted = {f.project_id}
        if f.include_subtree:
            wanted.update(assignments.subtree(session, f.project_id))
        if not (row.target == "project" and row.target_id in wanted):
            return False
    if f.domain_id is not None and not (row.target == "domain" and row.target_id == f.domain_id):
        return False
    if f.system and row.target != "system":
        return False
    return not (f.inherited_only and not (row.inherited or row.inherited_from))


def _in_domain(session: Session, row: Row, domain_id: str) -> bool:
    if row.target == "domain":
        return row.target_id == domain_id
    if row.target == "project":
        project = session.get(models.Project, row.target_id)
        return project is not None and project.domain_id == domain_id
    return False


def list_assignments(deps: Deps, f: Filters) -> list[Row]:
    with deps.db.reader() as session:
        rows = _raw(session)
        if f.effective:
            rows = _expand_implied(
                session, _expand_inherited(session, _expand_groups(session, rows))
            )
            kept = assignments.strip_domain_roles(session, {r.role_id for r in rows})
            rows = [r for r in rows if r.role_id in kept]
        result = [r for r in rows if _matches(session, r, f)]
        if f.within_domain is not None:
            result = [r for r in result if _in_domain(session, r, f.within_domain)]
        if f.include_names:
            f.names = _names(session, result)
        return result


def _names(session: Session, rows: list[Row]) -> dict[Any, Any]:
    names: dict[Any, Any] = {}
    domains = {d.id: d.name for d in session.scalars(select(models.Domain))}
    for row in rows:
        actor_model: type[models.User | models.Group] = (
            models.User if row.actor == "user" else models.Group
        )
        refs: tuple[tuple[str, str, type[models.User | models.Group | models.Role]], ...] = (
            (row.actor, row.actor_id, actor_model),
            ("role", row.role_id, models.Role),
        )
        for kind, obj_id, model in refs:
            if (kind, obj_id) not in names:
                obj: Any = session.get(model, obj_id)
                if obj is not None:
                    names[(kind, obj_id)] = (obj.name, getattr(obj, "domain_id", None))
        if row.target == "project" and ("project", row.target_id) not in names:
            project = session.get(models.Project, row.target_id)
            if project is not None:
                names[("project", row.target_id)] = (project.name, project.domain_id)
        if row.target == "domain":
            names[("domain", row.target_id)] = (domains.get(row.target_id), None)
    names["_domains"] = domains
    return names


def render(row: Row, f: Filters, base: str) -> dict[str, Any]:
    def ref(kind: str, obj_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {"id": obj_id}
        if f.include_names and (kind, obj_id) in f.names:
            name, domain_id = f.names[(kind, obj_id)]
            out["name"] = name
            if domain_id is not None or kind in ("user", "group", "project"):
                out["domain"] = {"id": domain_id, "name": f.names["_domains"].get(domain_id)}
        return out

    scope: dict[str, Any]
    if row.target == "system" or row.target_id == SYSTEM:
        scope = {"system": {"all": True}}
    else:
        scope = {row.target: ref(row.target, row.target_id)}
    if row.inherited or row.inherited_from:
        scope["OS-INHERIT:inherited_to"] = "projects"
    body: dict[str, Any] = {
        "role": ref("role", row.role_id),
        "scope": scope,
        row.actor: ref(row.actor, row.actor_id),
    }
    src_target, src_id = row.inherited_from or (row.target, row.target_id)
    actor = ("groups", row.via_group) if row.via_group else (row.actor + "s", row.actor_id)
    role = row.prior_role or row.role_id
    prefix = "/v3/OS-INHERIT" if row.inherited_from or row.inherited else "/v3"
    if src_target == "system":
        path = f"/v3/system/{actor[0]}/{actor[1]}/roles/{role}"
    else:
        path = f"{prefix}/{src_target}s/{src_id}/{actor[0]}/{actor[1]}/roles/{role}"
        if row.inherited_from or row.inherited:
            path += "/inherited_to_projects"
    links = {"assignment": base + path}
    if row.via_group:
        links["membership"] = f"{base}/v3/groups/{row.via_group}/users/{row.actor_id}"
    if row.prior_role:
        # Upstream's link names the implied role first (sic).
        links["prior_role"] = f"{base}/v3/prior_role/{row.role_id}/implies/{row.prior_role}"
    body["links"] = links
    return body
