"""The legacy (unversioned) instance usage notifications Nova's compute manager emits
and Ceilometer reads: ``compute.instance.create.end``, ``compute.instance.delete.end``.

The payload is Nova's ``info_from_instance`` shape (flavor as ``instance_type*``,
sizes, states, times as ``YYYY-MM-DD HH:MM:SS+00:00``), with ``fixed_ips`` and
``message`` on ``create.end``.
"""

from __future__ import annotations

from datetime import datetime

from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.compute import exception
from tinystack.compute.agent.context import AgentContext
from tinystack.compute.objects import AgentInstance


def _time(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S+00:00")


def _fixed_ips(inst: AgentInstance) -> list[JSON]:
    ips: list[JSON] = []
    for vif in inst.network_info or []:
        for subnet in vif.get("network", {}).get("subnets", []):
            for ip in subnet.get("ips", []):
                ips.append(
                    {
                        "address": ip.get("address"),
                        "type": ip.get("type", "fixed"),
                        "version": subnet.get("version") or (6 if ":" in ip["address"] else 4),
                        "label": vif.get("network", {}).get("label"),
                        "vif_mac": vif.get("address"),
                    }
                )
    return ips


def usage_payload(inst: AgentInstance, host: str) -> dict[str, JSON]:
    meta, flavor = inst.meta, inst.meta.flavor
    image_id = meta.image.id if meta.image is not None else ""
    return {
        "tenant_id": inst.project_id,
        "user_id": inst.user_id,
        "instance_id": inst.uuid,
        "display_name": meta.display_name,
        "hostname": meta.hostname,
        "reservation_id": meta.reservation_id,
        "host": host,
        "node": inst.node,
        "availability_zone": inst.availability_zone,
        "instance_type": flavor.name,
        "instance_type_id": flavor.id,
        "instance_flavor_id": flavor.flavorid,
        "memory_mb": flavor.memory_mb,
        "vcpus": flavor.vcpus,
        "root_gb": flavor.root_gb,
        "ephemeral_gb": flavor.ephemeral_gb,
        "disk_gb": flavor.root_gb + flavor.ephemeral_gb,
        "state": inst.vm_state,
        "state_description": inst.task_state or "",
        "power_state": inst.power_state,
        "created_at": _time(inst.created_at),
        "launched_at": _time(inst.launched_at),
        "terminated_at": _time(inst.terminated_at),
        "deleted_at": _time(inst.terminated_at),
        "image_ref_url": image_id,
        "image_meta": {"base_image_ref": image_id},
        "metadata": dict(meta.metadata),
    }


def notify_usage(agent: AgentContext, ctx: CallContext, uuid: str, event_suffix: str) -> None:
    """Emit ``compute.instance.<event_suffix>`` for instance ``uuid`` as this host (an
    instance gone meanwhile is not announced)."""
    try:
        inst = agent.load(uuid, read_deleted=True)
    except exception.InstanceNotFound:
        return
    payload = usage_payload(inst, agent.host)
    if event_suffix == "create.end":
        payload.update(fixed_ips=_fixed_ips(inst), message="Success")
    notifier = agent.deps.notifier.prepare(f"compute.{agent.host}")
    notifier.info(ctx, f"compute.instance.{event_suffix}", payload)
