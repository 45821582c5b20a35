"""The resource tracker: a host's inventory and traits in placement.

VCPU, MEMORY_MB and DISK_GB are reported with the allocation ratios and reserved
amounts from ``[compute]``; the host's capabilities become traits, and a disabled
compute service carries ``COMPUTE_STATUS_DISABLED`` so placement skips it.
"""

from __future__ import annotations

import logging
import math

from tinystack.common.clients.placement import PlacementClient
from tinystack.compute.conf import Options
from tinystack.compute.objects import HostResources
from tinystack.compute.scheduler.request_spec import DISABLED_TRAIT
from tinystack.compute.virt.driver import ComputeDriver

LOG = logging.getLogger(__name__)

#: driver capability -> trait, as upstream maps them
CAPABILITY_TRAITS = {
    "supports_attach_interface": "COMPUTE_NET_ATTACH_INTERFACE",
    "supports_device_tagging": "COMPUTE_DEVICE_TAGGING",
    "supports_tagged_attach_interface": "COMPUTE_NET_ATTACH_INTERFACE_WITH_TAG",
    "supports_multiattach": "COMPUTE_VOLUME_MULTI_ATTACH",
    "supports_bfv_rescue": "COMPUTE_RESCUE_BFV",
    "supports_trusted_certs": "COMPUTE_TRUSTED_CERTS",
    "supports_image_type_qcow2": "COMPUTE_IMAGE_TYPE_QCOW2",
    "supports_image_type_raw": "COMPUTE_IMAGE_TYPE_RAW",
    "supports_image_type_iso": "COMPUTE_IMAGE_TYPE_ISO",
}


def inventories(res: HostResources, opts: Options) -> dict[str, dict[str, int | float]]:
    disk_reserved = math.ceil(int(opts.reserved_host_disk_mb) / 1024)
    return {
        "VCPU": {
            "total": res.vcpus,
            "reserved": min(int(opts.reserved_host_cpus), res.vcpus),
            "min_unit": 1,
            "max_unit": res.vcpus,
            "step_size": 1,
            "allocation_ratio": float(opts.cpu_allocation_ratio),
        },
        "MEMORY_MB": {
            "total": res.memory_mb,
            "reserved": min(int(opts.reserved_host_memory_mb), res.memory_mb),
            "min_unit": 1,
            "max_unit": res.memory_mb,
            "step_size": 1,
            "allocation_ratio": float(opts.ram_allocation_ratio),
        },
        "DISK_GB": {
            "total": res.local_gb,
            "reserved": min(disk_reserved, res.local_gb),
            "min_unit": 1,
            "max_unit": res.local_gb,
            "step_size": 1,
            "allocation_ratio": float(opts.disk_allocation_ratio),
        },
    }


def traits(driver: ComputeDriver, disabled: bool) -> set[str]:
    found = {"COMPUTE_NODE"}
    found.update(t for cap, t in CAPABILITY_TRAITS.items() if driver.capabilities.get(cap))
    if disabled:
        found.add(DISABLED_TRAIT)
    return found


def report(
    placement: PlacementClient,
    node_uuid: str,
    res: HostResources,
    driver: ComputeDriver,
    opts: Options,
    disabled: bool,
) -> None:
    """Create the provider if needed and bring its inventory and traits up to date."""
    provider = placement.ensure_provider(node_uuid, res.hypervisor_hostname)
    wanted = inventories(res, opts)
    current = placement.get_inventories(node_uuid)
    have = current.get("inventories", {})
    if any(
        rc not in have or any(have[rc].get(k) != v for k, v in inv.items())
        for rc, inv in wanted.items()
    ) or set(have) - set(wanted):
        placement.set_inventories(node_uuid, wanted, current.get("resource_provider_generation"))
    del provider
    want_traits = traits(driver, disabled)
    have_traits, _ = placement.get_traits(node_uuid)
    managed = set(CAPABILITY_TRAITS.values()) | {"COMPUTE_NODE", DISABLED_TRAIT}
    add = want_traits - have_traits
    remove = (have_traits & managed) - want_traits
    if add or remove:
        placement.update_traits(node_uuid, add=add, remove=remove)


def set_disabled(placement: PlacementClient, node_uuid: str, disabled: bool) -> None:
    if disabled:
        placement.update_traits(node_uuid, add=[DISABLED_TRAIT])
    else:
        placement.update_traits(node_uuid, remove=[DISABLED_TRAIT])
