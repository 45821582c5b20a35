"""Networks: segments from the type drivers, sharing and external access through RBAC."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.timeutils import new_uuid
from tinystack.network import models
from tinystack.network.exception import conflict, invalid_input, network_in_use, not_found
from tinystack.network.plugins.type_base import (
    NETWORK_TYPE,
    PHYSICAL_NETWORK,
    SEGMENTATION_ID,
    Segment,
)
from tinystack.network.services import listing, quotas
from tinystack.network.services.agents import check_zones, zone_names
from tinystack.network.services.authz import Check
from tinystack.network.services.standard_attrs import (
    apply_fields,
    bump,
    check_revision,
    init_standard,
    owner_fields,
    standard_attrs,
)
from tinystack.network.services.visibility import project_of, rbac_targets, visible_clause

if TYPE_CHECKING:
    from tinystack.network.services.deps import Deps

SHARED, EXTERNAL = "access_as_shared", "access_as_external"
#: ports deleted with their network instead of keeping it in use
AUTO_DELETE_OWNERS = ("network:dhcp",)
PROVIDER_KEYS = (NETWORK_TYPE, PHYSICAL_NETWORK, SEGMENTATION_ID)
SPEC = listing.ListSpec(
    resource="network",
    model=models.Network,
    columns={
        "id": models.Network.id,
        "name": models.Network.name,
        "project_id": models.Network.project_id,
        "tenant_id": models.Network.project_id,
        "status": models.Network.status,
        "admin_state_up": models.Network.admin_state_up,
        "mtu": models.Network.mtu,
        "port_security_enabled": models.Network.port_security_enabled,
        "router:external": models.Network.external,
        "description": models.Network.description,
        "revision_number": models.Network.revision_number,
        "created_at": models.Network.created_at,
        "updated_at": models.Network.updated_at,
    },
    converters={
        "admin_state_up": listing.to_bool,
        "shared": listing.to_bool,
        "router:external": listing.to_bool,
        "port_security_enabled": listing.to_bool,
        "mtu": listing.to_int,
        "revision_number": listing.to_int,
        SEGMENTATION_ID: listing.to_int_or_none,
    },
    sortable=frozenset({"id", "name", "project_id", "tenant_id", "status", "mtu"}),
)


def requested_segments(values: dict[str, Any]) -> list[Segment]:
    """The provider segment(s) an admin asked for (empty: allocate a tenant segment)."""
    provider = {k: values[k] for k in PROVIDER_KEYS if values.get(k) is not None}
    segments = values.get("segments")
    if provider and segments:
        raise invalid_input("Segments and provider values cannot both be set")
    if provider:
        segments = [provider]
    out = []
    for raw in segments or []:
        if not raw.get(NETWORK_TYPE):
            raise invalid_input("provider:network_type required")
        seg_id = raw.get(SEGMENTATION_ID)
        out.append(
            Segment(
                str(raw[NETWORK_TYPE]),
                raw.get(PHYSICAL_NETWORK) or None,
                listing.to_int(seg_id) if seg_id is not None else None,
            )
        )
    return out


def segments_of(session: Session, network_ids: list[str]) -> dict[str, list[Segment]]:
    out: dict[str, list[Segment]] = defaultdict(list)
    if not network_ids:
        return out
    rows = session.scalars(
        select(models.NetworkSegment)
        .where(models.NetworkSegment.network_id.in_(network_ids))
        .order_by(models.NetworkSegment.segment_index)
    )
    for row in rows:
        out[row.network_id].append(
            Segment(row.network_type, row.physical_network, row.segmentation_id)
        )
    return out


def is_shared_for(session: Session, network_id: str, ctx: RequestContext) -> bool:
    stmt = select(models.RbacPolicy.id).where(
        models.RbacPolicy.object_type == "network",
        models.RbacPolicy.object_id == network_id,
        models.RbacPolicy.action == SHARED,
        models.RbacPolicy.target_project.in_(rbac_targets(ctx)),
    )
    return session.scalars(stmt).first() is not None


def add_rbac(session: Session, network: models.Network, action: str, target: str = "*") -> None:
    exists = session.scalars(
        select(models.RbacPolicy).where(
            models.RbacPolicy.object_type == "network",
            models.RbacPolicy.object_id == network.id,
            models.RbacPolicy.action == action,
            models.RbacPolicy.target_project == target,
        )
    ).first()
    if exists is None:
        session.add(
            models.RbacPolicy(
                id=new_uuid(),
                project_id=network.project_id,
                object_type="network",
                object_id=network.id,
                action=action,
                target_project=target,
            )
        )


def visible_network(session: Session, ctx: RequestContext, network_id: str) -> models.Network:
    """The network if the caller owns it or it is shared with it or external (else 404)."""
    row = session.get(models.Network, network_id)
    if row is None:
        raise not_found("network", network_id)
    if ctx.is_admin or row.project_id == project_of(ctx):
        return row
    granted = select(models.RbacPolicy.id).where(
        models.RbacPolicy.object_type == "network",
        models.RbacPolicy.object_id == network_id,
        models.RbacPolicy.action.in_((SHARED, EXTERNAL)),
        models.RbacPolicy.target_project.in_(rbac_targets(ctx)),
    )
    if session.scalars(granted).first() is None:
        raise not_found("network", network_id)
    return row


class Networks:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    # -- rendering ---------------------------------------------------------------------------

    def render(
        self, session: Session, rows: Sequence[models.Network], ctx: RequestContext
    ) -> list[dict[str, Any]]:
        ids = [r.id for r in rows]
        subnets: dict[str, list[str]] = defaultdict(list)
        scopes: dict[tuple[str, int], set[str | None]] = defaultdict(set)
        if ids:
            stmt = (
                select(
                    models.Subnet.network_id,
                    models.Subnet.id,
                    models.Subnet.ip_version,
                    models.SubnetPool.address_scope_id,
                )
                .outerjoin(models.SubnetPool, models.SubnetPool.id == models.Subnet.subnetpool_id)
                .where(models.Subnet.network_id.in_(ids))
                .order_by(models.Subnet.created_at, models.Subnet.id)
            )
            for net_id, subnet_id, version, scope in session.execute(stmt):
                subnets[net_id].append(subnet_id)
                scopes[(net_id, version)].add(scope)
        segments = segments_of(session, ids)
        shared = set()
        if ids:
            shared = set(
                session.scalars(
                    select(models.RbacPolicy.object_id).where(
                        models.RbacPolicy.object_type == "network",
                        models.RbacPolicy.action == SHARED,
                        models.RbacPolicy.object_id.in_(ids),
                        models.RbacPolicy.target_project.in_(rbac_targets(ctx)),
                    )
                )
            )
        zones = list(self.deps.opts.default_availability_zones)
        return [
            self._one(r, subnets[r.id], segments[r.id], r.id in shared, scopes, zones) for r in rows
        ]

    def _one(
        self,
        row: models.Network,
        subnet_ids: list[str],
        segments: list[Segment],
        shared: bool,
        scopes: dict[tuple[str, int], set[str | None]],
        zones: list[str],
    ) -> dict[str, Any]:
        def scope(version: int) -> str | None:
            found = scopes.get((row.id, version), set())
            return next(iter(found)) if len(found) == 1 else None

        out: dict[str, Any] = {
            "id": row.id,
            "name": row.name,
            **owner_fields(row.project_id),
            "admin_state_up": row.admin_state_up,
            "status": row.status,
            "subnets": subnet_ids,
            "shared": shared,
            "router:external": row.external,
            "mtu": row.mtu,
            "port_security_enabled": row.port_security_enabled,
            "availability_zone_hints": list(row.availability_zone_hints or []),
            "availability_zones": list(row.availability_zone_hints or []) or zones,
            "ipv4_address_scope": scope(4),
            "ipv6_address_scope": scope(6),
            "l2_adjacency": True,
            **standard_attrs(row),
        }
        if len(segments) > 1:
            out["segments"] = [s.as_provider() for s in segments]
        else:
            seg = segments[0] if segments else Segment("local")
            out.update(seg.as_provider())
        return out

    def _render_one(self, session: Session, row: models.Network, ctx: RequestContext) -> Any:
        return self.render(session, [row], ctx)[0]

    # -- queries -----------------------------------------------------------------------------

    def list_items(self, ctx: RequestContext, query: listing.ListQuery) -> list[dict[str, Any]]:
        stmt = select(models.Network).where(
            visible_clause(models.Network, "network", ctx, (SHARED, EXTERNAL))
        )
        with self.deps.db.reader() as session:
            return listing.run(
                session, SPEC, stmt, query, lambda s, rows: self.render(s, rows, ctx)
            )

    def show(self, ctx: RequestContext, network_id: str) -> dict[str, Any]:
        with self.deps.db.reader() as session:
            return self._render_one(session, visible_network(session, ctx, network_id), ctx)

    # -- changes -----------------------------------------------------------------------------

    def create(self, ctx: RequestContext, values: dict[str, Any], check: Check) -> dict[str, Any]:
        return self.create_bulk(ctx, [values], check)[0]

    def create_bulk(
        self, ctx: RequestContext, items: list[dict[str, Any]], check: Check
    ) -> list[dict[str, Any]]:
        def tx(session: Session) -> list[dict[str, Any]]:
            rows = [self._create(session, ctx, values, check) for values in items]
            for project_id in {row.project_id for row in rows}:  # the new rows count already
                quotas.enforce(session, self.deps.opts, project_id, {"network": 0})
            session.flush()
            return self.render(session, rows, ctx)

        created = self.deps.db.write(tx)
        for net in created:
            self.deps.events.network_changed(net["id"])
        return created

    def _create(
        self, session: Session, ctx: RequestContext, values: dict[str, Any], check: Check
    ) -> models.Network:
        project_id = values.get("project_id") or project_of(ctx)
        check({**values, **owner_fields(project_id)})
        hints = list(values.get("availability_zone_hints") or [])
        check_zones(hints, zone_names(session, self.deps.opts, "network"))
        row = models.Network(
            id=new_uuid(),
            project_id=project_id,
            name=values.get("name") or "",
            admin_state_up=values.get("admin_state_up", True),
            status="ACTIVE",
            port_security_enabled=values.get("port_security_enabled", True),
            external=bool(values.get("router:external", False)),
            availability_zone_hints=hints,
            tags=sorted(set(values.get("tags") or [])),
            mtu=0,
        )
        init_standard(row, values.get("description"))
        session.add(row)
        session.flush()
        types = self.deps.types
        segments = types.create_segments(session, row.id, requested_segments(values))
        for index, seg in enumerate(segments):
            session.add(
                models.NetworkSegment(
                    id=new_uuid(),
                    network_id=row.id,
                    network_type=seg.network_type,
                    physical_network=seg.physical_network,
                    segmentation_id=seg.segmentation_id,
                    segment_index=index,
                )
            )
        row.mtu = self._mtu(values.get("mtu"), types.mtu(segments))
        if values.get("shared"):
            add_rbac(session, row, SHARED)
        if row.external:
            add_rbac(session, row, EXTERNAL)
        return row

    @staticmethod
    def _mtu(requested: Any, maximum: int) -> int:
        if requested is None:
            return maximum
        mtu = listing.to_int(requested)
        if mtu > maximum:
            raise invalid_input(f"Requested MTU is too big, maximum is {maximum}")
        if mtu < 68:
            raise invalid_input(f"'{mtu}' is too small - must be at least '68'")
        return mtu

    def update(
        self,
        ctx: RequestContext,
        network_id: str,
        values: dict[str, Any],
        check: Check,
        revision: int | None = None,
    ) -> dict[str, Any]:
        def tx(session: Session) -> dict[str, Any]:
            row = visible_network(session, ctx, network_id)
            current = self._render_one(session, row, ctx)
            check(current)
            check_revision(row, revision)
            if any(k in values for k in (*PROVIDER_KEYS, "segments")):
                raise invalid_input("Plugin does not support updating provider attributes")
            changed = apply_fields(
                row,
                values,
                {
                    "name": "name",
                    "admin_state_up": "admin_state_up",
                    "description": "description",
                    "port_security_enabled": "port_security_enabled",
                },
            )
            if "mtu" in values and values["mtu"] != row.mtu:
                segments = segments_of(session, [row.id])[row.id]
                row.mtu = self._mtu(values["mtu"], self.deps.types.mtu(segments))
                changed = True
            if "shared" in values and bool(values["shared"]) != current["shared"]:
                self._set_shared(session, row, bool(values["shared"]))
                changed = True
            if "router:external" in values and bool(values["router:external"]) != row.external:
                self._set_external(session, row, bool(values["router:external"]))
                changed = True
            if changed:
                bump(row)
            session.flush()
            return self._render_one(session, row, ctx)

        result = self.deps.db.write(tx)
        self.deps.events.network_changed(network_id)
        return result

    def _set_shared(self, session: Session, row: models.Network, shared: bool) -> None:
        if shared:
            add_rbac(session, row, SHARED)
            return
        foreign = session.scalars(
            select(models.Port.id).where(
                models.Port.network_id == row.id,
                models.Port.project_id != row.project_id,
                models.Port.project_id != "",
            )
        ).first()
        if foreign is not None:
            raise conflict(
                "InvalidSharedSetting",
                f"Unable to reconfigure sharing settings for network {row.id}. "
                "Multiple tenants are using it.",
            )
        session.execute(
            delete(models.RbacPolicy).where(
                models.RbacPolicy.object_type == "network",
                models.RbacPolicy.object_id == row.id,
                models.RbacPolicy.action == SHARED,
                models.RbacPolicy.target_project == "*",
            )
        )

    def _set_external(self, session: Session, row: models.Network, external: bool) -> None:
        if external:
            row.external = True
            add_rbac(session, row, EXTERNAL)
            return
        used = session.scalars(
            select(models.Port.id).where(
                models.Port.network_id == row.id,
                models.Port.device_owner.in_(("network:router_gateway", "network:floatingip")),
            )
        ).first()
        if used is not None:
            raise network_in_use(row.id)
        row.external = False
        session.execute(
            delete(models.RbacPolicy).where(
                models.RbacPolicy.object_type == "network",
                models.RbacPolicy.object_id == row.id,
                models.RbacPolicy.action == EXTERNAL,
            )
        )

    def delete(
        self, ctx: RequestContext, network_id: str, check: Check, revision: int | None = None
    ) -> None:
        def tx(session: Session) -> None:
            row = visible_network(session, ctx, network_id)
            check(self._render_one(session, row, ctx))
            check_revision(row, revision)
            ports = session.scalars(
                select(models.Port).where(models.Port.network_id == network_id)
            ).all()
            # floating IPs of an external network that are not associated go with it
            loose = session.scalars(
                select(models.FloatingIP).where(
                    models.FloatingIP.floating_network_id == network_id,
                    models.FloatingIP.port_id.is_(None),
                )
            ).all()
            loose_ports = {f.floating_port_id for f in loose}
            if any(
                p.device_owner not in AUTO_DELETE_OWNERS and p.id not in loose_ports for p in ports
            ):
                raise network_in_use(network_id)
            for fip in loose:
                session.delete(fip)
            session.flush()
            for port in ports:
                session.delete(port)
            session.flush()
            session.execute(delete(models.Subnet).where(models.Subnet.network_id == network_id))
            session.execute(
                delete(models.RbacPolicy).where(
                    models.RbacPolicy.object_type == "network",
                    models.RbacPolicy.object_id == network_id,
                )
            )
            self.deps.types.release(session, segments_of(session, [network_id])[network_id])
            session.delete(row)

        self.deps.db.write(tx)
        self.deps.events.network_deleted(network_id)
