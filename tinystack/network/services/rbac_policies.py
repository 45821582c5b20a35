"""RBAC policies: sharing networks, security groups, address scopes, subnet pools and QoS
policies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.timeutils import new_uuid
from tinystack.network import models
from tinystack.network.exception import conflict, in_use, invalid_input, not_found
from tinystack.network.services import listing, quotas
from tinystack.network.services.authz import Check
from tinystack.network.services.records import RbacPolicyRecord
from tinystack.network.services.visibility import project_of, shared_ids

if TYPE_CHECKING:
    from tinystack.network.services.deps import Deps

OBJECTS: dict[str, tuple[Any, str, tuple[str, ...]]] = {
    "network": (models.Network, "network", ("access_as_shared", "access_as_external")),
    "security_group": (models.SecurityGroup, "security_group", ("access_as_shared",)),
    "address_scope": (models.AddressScope, "address_scope", ("access_as_shared",)),
    "subnetpool": (models.SubnetPool, "subnetpool", ("access_as_shared",)),
    "qos_policy": (models.QosPolicy, "policy", ("access_as_shared",)),
}
#: what a project's use of a shared object of each kind is: the rows pointing at it
USERS: dict[str, tuple[tuple[Any, Any], ...]] = {
    "network": ((models.Port, models.Port.network_id),),
    "qos_policy": (
        (models.Port, models.Port.qos_policy_id),
        (models.Network, models.Network.qos_policy_id),
    ),
}
SPEC = listing.ListSpec(
    resource="rbac_policy",
    model=models.RbacPolicy,
    columns={
        "id": models.RbacPolicy.id,
        "project_id": models.RbacPolicy.project_id,
        "tenant_id": models.RbacPolicy.project_id,
        "object_type": models.RbacPolicy.object_type,
        "object_id": models.RbacPolicy.object_id,
        "action": models.RbacPolicy.action,
        "target_tenant": models.RbacPolicy.target_project,
        "target_project": models.RbacPolicy.target_project,
    },
    sortable=frozenset({"id", "project_id", "tenant_id", "object_type", "object_id", "action"}),
    getters={
        "id": lambda p: p.id,
        "project_id": lambda p: p.project_id,
        "tenant_id": lambda p: p.project_id,
        "object_type": lambda p: p.object_type,
        "object_id": lambda p: p.object_id,
        "action": lambda p: p.action,
        "target_tenant": lambda p: p.target_project,
    },
)


@dataclass(frozen=True, slots=True)
class RbacPolicySpec:
    """An RBAC entry to create, as requested (checked when it is created)."""

    project_id: str | None
    object_type: str
    object_id: str
    action: str
    #: target_tenant (or its newer name target_project)
    target_project: str | None


def records(session: Session, rows: Sequence[models.RbacPolicy]) -> list[RbacPolicyRecord]:
    return [
        RbacPolicyRecord(
            id=r.id,
            project_id=r.project_id,
            object_type=r.object_type,
            object_id=r.object_id,
            action=r.action,
            target_project=r.target_project,
        )
        for r in rows
    ]


class RbacPolicies:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def _visible(self, session: Session, ctx: RequestContext, policy_id: str) -> models.RbacPolicy:
        row = session.get(models.RbacPolicy, policy_id)
        if row is None or not (ctx.is_admin or row.project_id == project_of(ctx)):
            raise not_found("rbac_policy", policy_id)
        return row

    def list_items(self, ctx: RequestContext, query: listing.ListQuery) -> list[RbacPolicyRecord]:
        stmt = select(models.RbacPolicy)
        if not ctx.is_admin:
            stmt = stmt.where(models.RbacPolicy.project_id == project_of(ctx))
        with self.deps.db.reader() as session:
            return listing.run(session, SPEC, stmt, query, records)

    def show(self, ctx: RequestContext, policy_id: str) -> RbacPolicyRecord:
        with self.deps.db.reader() as session:
            return records(session, [self._visible(session, ctx, policy_id)])[0]

    def _object(self, session: Session, ctx: RequestContext, kind: Any, object_id: Any) -> Any:
        if kind not in OBJECTS:
            raise invalid_input(f"'{kind}' is not in {sorted(OBJECTS)}")
        model, resource, _actions = OBJECTS[kind]
        row = session.get(model, str(object_id or ""))
        if row is None or not (ctx.is_admin or row.project_id == project_of(ctx)):
            if row is not None and shared_ids(session, kind, [row.id], ctx, "access_as_shared"):
                # shared with the caller, not its own: not the caller's to share on (400)
                raise invalid_input(
                    f"{resource} {row.id} is not owned by project {project_of(ctx)}: only "
                    "its owner shares it"
                )
            raise not_found(resource, str(object_id))
        return row

    def create(self, ctx: RequestContext, spec: RbacPolicySpec) -> RbacPolicyRecord:
        """Create an RBAC entry (the API authorized the request already)."""
        project_id = spec.project_id or project_of(ctx)
        kind, action, target = spec.object_type, spec.action, spec.target_project
        if not target:
            raise invalid_input("target_tenant is required")

        def tx(session: Session) -> RbacPolicyRecord:
            obj = self._object(session, ctx, kind, spec.object_id)
            if action not in OBJECTS[str(kind)][2]:
                raise invalid_input(f"'{action}' is not in {list(OBJECTS[str(kind)][2])}")
            quotas.enforce(session, self.deps.opts, project_id, {"rbac_policy": 1})
            self._check_duplicate(session, str(kind), obj.id, str(action), str(target))
            row = models.RbacPolicy(
                id=new_uuid(),
                project_id=project_id,
                object_type=str(kind),
                object_id=obj.id,
                action=str(action),
                target_project=str(target),
            )
            session.add(row)
            if kind == "network" and action == "access_as_external":
                obj.external = True
            session.flush()
            return records(session, [row])[0]

        created = self.deps.db.write(tx)
        self._notify(created)
        return created

    @staticmethod
    def _check_duplicate(
        session: Session, kind: str, object_id: str, action: str, target: str
    ) -> None:
        exists = session.scalars(
            select(models.RbacPolicy.id).where(
                models.RbacPolicy.object_type == kind,
                models.RbacPolicy.object_id == object_id,
                models.RbacPolicy.action == action,
                models.RbacPolicy.target_project == target,
            )
        ).first()
        if exists is not None:
            raise conflict(
                "DuplicateRbacPolicy", "An RBAC policy already exists with those values."
            )

    def update(
        self,
        ctx: RequestContext,
        policy_id: str,
        target: str | None,
        check: Check[RbacPolicyRecord],
    ) -> RbacPolicyRecord:
        """Point the entry at project ``target`` (None or empty: unchanged)."""

        def tx(session: Session) -> RbacPolicyRecord:
            row = self._visible(session, ctx, policy_id)
            check(records(session, [row])[0])
            if target and target != row.target_project:
                self._check_unused(session, row)
                self._check_duplicate(
                    session, row.object_type, row.object_id, row.action, str(target)
                )
                row.target_project = str(target)
            session.flush()
            return records(session, [row])[0]

        updated = self.deps.db.write(tx)
        self._notify(updated)
        return updated

    def delete(self, ctx: RequestContext, policy_id: str, check: Check[RbacPolicyRecord]) -> None:
        def tx(session: Session) -> RbacPolicyRecord:
            row = self._visible(session, ctx, policy_id)
            record = records(session, [row])[0]
            check(record)
            self._check_unused(session, row)
            session.delete(row)
            return record

        self._notify(self.deps.db.write(tx))

    @staticmethod
    def _check_unused(session: Session, row: models.RbacPolicy) -> None:
        """Other projects' ports on a network (ports and networks with a QoS policy) must
        keep the access that lets them exist."""
        if row.object_type not in USERS or row.action != "access_as_shared":
            return
        others = select(models.RbacPolicy.id).where(
            models.RbacPolicy.object_type == row.object_type,
            models.RbacPolicy.object_id == row.object_id,
            models.RbacPolicy.action == "access_as_shared",
            models.RbacPolicy.id != row.id,
            models.RbacPolicy.target_project == "*",
        )
        if session.scalars(others).first() is not None:
            return
        model = OBJECTS[row.object_type][0]
        obj = session.get(model, row.object_id)
        owner = obj.project_id if obj is not None else ""
        for user, column in USERS[row.object_type]:
            stmt = select(user.id).where(
                column == row.object_id, user.project_id.not_in([owner, ""])
            )
            if row.target_project != "*":
                stmt = stmt.where(user.project_id == row.target_project)
            else:
                # projects with a grant of their own keep their access without the wildcard
                granted = select(models.RbacPolicy.target_project).where(
                    models.RbacPolicy.object_type == row.object_type,
                    models.RbacPolicy.object_id == row.object_id,
                    models.RbacPolicy.action == "access_as_shared",
                    models.RbacPolicy.id != row.id,
                )
                stmt = stmt.where(user.project_id.not_in(granted))
            if session.scalars(stmt).first() is not None:
                raise in_use(
                    "RbacPolicyInUse",
                    f"RBAC policy on object {row.object_id} cannot be removed because other "
                    "objects depend on it.",
                )

    def _notify(self, policy: RbacPolicyRecord) -> None:
        if policy.object_type == "network":
            self.deps.events.network_changed(policy.object_id)
        elif policy.object_type == "security_group":
            self.deps.events.security_groups_changed([policy.object_id])
