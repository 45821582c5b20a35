"""What a request spec asks of placement: resources and required or forbidden traits."""

from __future__ import annotations

import math

from tinystack.compute.objects import RequestSpec

#: the trait the compute service puts on the providers of disabled hosts
DISABLED_TRAIT = "COMPUTE_STATUS_DISABLED"


def resources(spec: RequestSpec) -> dict[str, int]:
    """The placement resources the flavor needs (extra specs may override them)."""
    flavor = spec.flavor
    disk = 0 if spec.is_bfv else int(flavor.root_gb or 0)
    disk += int(flavor.ephemeral_gb or 0)
    disk += math.ceil(int(flavor.swap or 0) / 1024)
    wanted = {
        "VCPU": int(flavor.vcpus or 0),
        "MEMORY_MB": int(flavor.memory_mb or 0),
        "DISK_GB": disk,
    }
    for key, value in spec.extra_specs.items():
        if key.startswith("resources:"):
            try:
                wanted[key.split(":", 1)[1]] = int(value)
            except ValueError:
                continue
    return {rc: amount for rc, amount in wanted.items() if amount > 0}


def traits(spec: RequestSpec) -> list[str]:
    """Required (``X``) and forbidden (``!X``) traits from extra specs and image."""
    found = [f"!{DISABLED_TRAIT}"]
    sources = list(spec.extra_specs.items()) + list(spec.image_properties.items())
    for key, value in sources:
        if not key.startswith("trait:"):
            continue
        name = key.split(":", 1)[1]
        if value == "required":
            found.append(name)
        elif value == "forbidden":
            found.append(f"!{name}")
    return sorted(set(found))
