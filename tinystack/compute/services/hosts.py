"""Compute services (os-services) and compute nodes (os-hypervisors): rows and heartbeats."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from tinystack.common.db import Database
from tinystack.common.exceptions import BadRequest, Conflict
from tinystack.common.timeutils import utcnow
from tinystack.compute import exception, models
from tinystack.compute.conf import Options
from tinystack.compute.objects import NodeSpec
from tinystack.compute.services import service_versions
from tinystack.compute.services.records import from_row

COMPUTE_BINARY = service_versions.COMPUTE_BINARY


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    """A service record (nova-compute, nova-conductor, nova-scheduler) of one host."""

    id: int
    uuid: str
    host: str
    binary: str
    topic: str
    report_count: int
    disabled: bool
    disabled_reason: str | None
    forced_down: bool
    last_seen_up: datetime | None
    version: int
    rpc_version: str | None
    object_versions: dict[str, str] | None
    created_at: datetime
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """A compute node: a hypervisor's resources and what it reports as used."""

    id: int
    uuid: str
    service_id: int | None
    host: str
    hypervisor_hostname: str
    hypervisor_type: str
    hypervisor_version: int
    host_ip: str | None
    cpu_info: dict[str, Any]
    vcpus: int
    memory_mb: int
    local_gb: int
    vcpus_used: int
    memory_mb_used: int
    local_gb_used: int
    running_vms: int
    cpu_allocation_ratio: float
    ram_allocation_ratio: float
    disk_allocation_ratio: float
    created_at: datetime
    updated_at: datetime | None


def _service(row: models.Service) -> ServiceInfo:
    return from_row(ServiceInfo, row)


def service_up_checker(opts: Options) -> Callable[[ServiceInfo], bool]:
    limit = timedelta(seconds=int(opts.service_down_time))
    now = utcnow()

    def is_up(svc: ServiceInfo) -> bool:
        if svc.forced_down:
            return False
        seen = svc.last_seen_up or svc.updated_at or svc.created_at
        return seen is not None and now - seen <= limit

    return is_up


def list_services(
    db: Database, *, host: str | None = None, binary: str | None = None
) -> list[ServiceInfo]:
    with db.reader() as session:
        query = select(models.Service)
        if host is not None:
            query = query.where(models.Service.host == host)
        if binary is not None:
            query = query.where(models.Service.binary == binary)
        return [_service(row) for row in session.scalars(query.order_by(models.Service.id))]


def compute_hosts(db: Database) -> list[str]:
    """The hosts of the compute services, sorted."""
    with db.reader() as session:
        names = session.scalars(
            select(models.Service.host).where(models.Service.binary == COMPUTE_BINARY)
        )
        return sorted(set(names))


def get_service(db: Database, service_id: str) -> ServiceInfo:
    with db.reader() as session:
        return _service(_load_service(session, service_id))


def _load_service(session: Session, service_id: str) -> models.Service:
    table = models.Service
    if service_id.isdigit():
        found = session.get(table, int(service_id))
    else:
        found = session.scalars(select(table).where(table.uuid == service_id)).first()
    if found is None:
        raise exception.ServiceNotFound(service_id)
    return found


def find_service(db: Database, host: str, binary: str) -> ServiceInfo:
    with db.reader() as session:
        found = session.scalars(
            select(models.Service).where(
                models.Service.host == host, models.Service.binary == binary
            )
        ).first()
    if found is None:
        raise exception.ComputeHostNotFound(host)
    return _service(found)


def ensure_service(db: Database, host: str, binary: str, topic: str) -> ServiceInfo:
    """The (host, binary) service row, created if new; marks it seen now."""

    def write(session: Session) -> ServiceInfo:
        now = utcnow()
        found = session.scalars(
            select(models.Service).where(
                models.Service.host == host, models.Service.binary == binary
            )
        ).first()
        if found is None:
            found = models.Service(
                uuid=str(uuidlib.uuid4()),
                host=host,
                binary=binary,
                topic=topic,
                created_at=now,
                updated_at=now,
                last_seen_up=now,
                report_count=0,
            )
            session.add(found)
            session.flush()
        else:
            found.last_seen_up = now
            found.updated_at = now
        service_versions.stamp(found)
        return _service(found)

    return db.write(write)


def heartbeat(db: Database, service_ids: Iterable[int]) -> None:
    """One write for many services (a process with a thousand fake hosts beats once)."""
    ids = list(service_ids)
    if not ids:
        return
    now = utcnow()

    def write(session: Session) -> None:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            session.execute(
                update(models.Service)
                .where(models.Service.id.in_(chunk))
                .values(
                    last_seen_up=now,
                    updated_at=now,
                    report_count=models.Service.report_count + 1,
                )
            )

    db.write(write)


def set_status(
    db: Database,
    service_id: str,
    *,
    disabled: bool | None = None,
    disabled_reason: str | None = None,
    forced_down: bool | None = None,
) -> ServiceInfo:
    def write(session: Session) -> ServiceInfo:
        svc = _load_service(session, service_id)
        if disabled is not None:
            svc.disabled = disabled
            svc.disabled_reason = disabled_reason if disabled else None
        if forced_down is not None:
            svc.forced_down = forced_down
        svc.updated_at = utcnow()
        return _service(svc)

    return db.write(write)


def delete_service(db: Database, service_id: str) -> ServiceInfo:
    def write(session: Session) -> ServiceInfo:
        svc = _load_service(session, service_id)
        if svc.binary == COMPUTE_BINARY:
            hosted = session.scalar(
                select(func.count(models.Instance.id)).where(
                    models.Instance.host == svc.host, models.Instance.deleted.is_(False)
                )
            )
            if hosted:
                raise Conflict(
                    f"Unable to delete compute service that is hosting instances. "
                    f"Migrate or delete the instances first before deleting the compute "
                    f"service {svc.host}."
                )
            session.execute(
                delete(models.AggregateHost).where(models.AggregateHost.host == svc.host)
            )
            session.execute(delete(models.ComputeNode).where(models.ComputeNode.host == svc.host))
        found = _service(svc)
        session.delete(svc)
        return found

    return db.write(write)


# -- compute nodes ----------------------------------------------------------------------------
def register_nodes(db: Database, specs: list[NodeSpec], binary: str = COMPUTE_BINARY) -> None:
    """Create or refresh the services and compute nodes of many hosts in one write."""
    now = utcnow()

    def write(session: Session) -> None:
        names = [s.host for s in specs]
        services = {}
        for start in range(0, len(names), 500):
            chunk = names[start : start + 500]
            for svc in session.scalars(
                select(models.Service).where(
                    models.Service.host.in_(chunk), models.Service.binary == binary
                )
            ):
                services[svc.host] = svc
        nodes = {}
        for start in range(0, len(names), 500):
            chunk = names[start : start + 500]
            for node in session.scalars(
                select(models.ComputeNode).where(models.ComputeNode.host.in_(chunk))
            ):
                nodes[node.host] = node
        for spec in specs:
            found = services.get(spec.host)
            if found is not None:
                svc = found
            else:
                svc = models.Service(
                    uuid=str(uuidlib.uuid4()),
                    host=spec.host,
                    binary=binary,
                    topic="compute",
                    created_at=now,
                    report_count=0,
                )
                session.add(svc)
            svc.last_seen_up = now
            svc.updated_at = now
            service_versions.stamp(svc)
            if svc.id is None:
                session.flush()
            _upsert_node(session, nodes.get(spec.host), svc, spec, now)

    db.write(write)


def _upsert_node(
    session: Session, node: models.ComputeNode | None, svc: models.Service, spec: NodeSpec, now: Any
) -> None:
    res = spec.resources
    if node is None:
        node = models.ComputeNode(
            uuid=spec.node_uuid,
            host=spec.host,
            hypervisor_hostname=res.hypervisor_hostname,
            created_at=now,
        )
        session.add(node)
    node.service_id = svc.id
    node.hypervisor_type = res.hypervisor_type
    node.hypervisor_version = res.hypervisor_version
    node.host_ip = res.host_ip
    node.cpu_info = dict(res.cpu_info)
    node.vcpus = res.vcpus
    node.memory_mb = res.memory_mb
    node.local_gb = res.local_gb
    node.cpu_allocation_ratio = spec.cpu_allocation_ratio
    node.ram_allocation_ratio = spec.ram_allocation_ratio
    node.disk_allocation_ratio = spec.disk_allocation_ratio
    node.supported_instances = [list(s) for s in res.supported_instances]
    node.updated_at = now


def node_uuids(db: Database, hosts: Iterable[str]) -> dict[str, str]:
    """host -> compute node uuid, for hosts registered before."""
    wanted = list(hosts)
    found: dict[str, str] = {}
    with db.reader() as session:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            for host, uuid in session.execute(
                select(models.ComputeNode.host, models.ComputeNode.uuid).where(
                    models.ComputeNode.host.in_(chunk)
                )
            ):
                found[host] = uuid
    return found


def update_usage(db: Database, usage: dict[str, dict[str, int]]) -> None:
    """Write the resource tracker's view: host -> vcpus_used, memory_mb_used, ..."""

    def write(session: Session) -> None:
        for host, values in usage.items():
            session.execute(
                update(models.ComputeNode).where(models.ComputeNode.host == host).values(**values)
            )

    db.write(write)


def list_nodes(
    db: Database,
    *,
    hostname_pattern: str | None = None,
    limit: int | None = None,
    marker: str | None = None,
    by_uuid: bool = True,
) -> list[tuple[NodeInfo, ServiceInfo | None]]:
    with db.reader() as session:
        query = select(models.ComputeNode, models.Service).outerjoin(
            models.Service, models.Service.id == models.ComputeNode.service_id
        )
        if hostname_pattern is not None:
            query = query.where(
                models.ComputeNode.hypervisor_hostname.like(f"%{hostname_pattern}%")
            )
        rows: list[tuple[NodeInfo, ServiceInfo | None]] = [
            (from_row(NodeInfo, n), None if s is None else _service(s))
            for n, s in session.execute(query.order_by(models.ComputeNode.id))
        ]
    if marker is not None:
        keys = [str(n.uuid if by_uuid else n.id) for n, _ in rows]
        if marker not in keys:
            raise BadRequest(f"marker [{marker}] not found")
        rows = rows[keys.index(marker) + 1 :]
    return rows[:limit] if limit is not None else rows


def get_node(db: Database, node_id: str) -> tuple[NodeInfo, ServiceInfo | None]:
    with db.reader() as session:
        table = models.ComputeNode
        if node_id.isdigit():
            node = session.get(table, int(node_id))
        else:
            node = session.scalars(select(table).where(table.uuid == node_id)).first()
        if node is None:
            raise exception.HypervisorNotFound(node_id)
        svc = session.get(models.Service, node.service_id) if node.service_id else None
        return from_row(NodeInfo, node), None if svc is None else _service(svc)


def instances_on(db: Database, hosts: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """host -> [(instance uuid, name)] of the live instances it runs."""
    wanted = list(hosts)
    found: dict[str, list[tuple[str, str]]] = {h: [] for h in wanted}
    with db.reader() as session:
        rows = session.execute(
            select(models.Instance.host, models.Instance.uuid, models.Instance.id).where(
                models.Instance.host.in_(wanted), models.Instance.deleted.is_(False)
            )
        )
        for host, uuid, internal in rows:
            found.setdefault(str(host), []).append((uuid, f"instance-{internal:08x}"))
    return found


def usage_by_host(db: Database, host_names: Iterable[str]) -> dict[str, dict[str, int]]:
    """host -> vcpus, memory_mb, disk_gb used by its live instances, running_vms, workload."""
    from sqlalchemy import case

    wanted = list(host_names)
    inst = models.Instance
    busy = case((inst.task_state.is_not(None), 1), else_=0)
    found: dict[str, dict[str, int]] = {}
    if not wanted:
        return found
    with db.reader() as session:
        rows = session.execute(
            select(
                inst.host,
                func.count(inst.id),
                func.coalesce(func.sum(inst.vcpus), 0),
                func.coalesce(func.sum(inst.memory_mb), 0),
                func.coalesce(func.sum(busy), 0),
            )
            .where(inst.host.in_(wanted), inst.deleted.is_(False))
            .group_by(inst.host)
        ).all()
        disks: dict[str, int] = {}
        for host, flavor in session.execute(
            select(inst.host, inst.flavor).where(inst.host.in_(wanted), inst.deleted.is_(False))
        ):
            disks[host] = (
                disks.get(host, 0)
                + int(flavor.get("root_gb") or 0)
                + int(flavor.get("ephemeral_gb") or 0)
            )
    for host, count, vcpus, memory, workload in rows:
        found[host] = {
            "running_vms": int(count),
            "vcpus_used": int(vcpus),
            "memory_mb_used": int(memory),
            "local_gb_used": disks.get(host, 0),
            "current_workload": int(workload),
        }
    return found
