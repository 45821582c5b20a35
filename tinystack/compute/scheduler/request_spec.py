"""What the scheduler is asked: the request spec, as the API wrote it (a JSON dict)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

#: the trait the compute service puts on the providers of disabled hosts
DISABLED_TRAIT = "COMPUTE_STATUS_DISABLED"


@dataclass
class RequestSpec:
    project_id: str
    user_id: str
    flavor: dict[str, Any]
    image: dict[str, Any] | None = None
    availability_zone: str | None = None
    scheduler_hints: dict[str, Any] = field(default_factory=dict)
    group: dict[str, Any] | None = None
    force_hosts: list[str] = field(default_factory=list)
    force_nodes: list[str] = field(default_factory=list)
    requested_destination: dict[str, Any] | None = None
    ignore_hosts: list[str] = field(default_factory=list)
    num_instances: int = 1
    is_bfv: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RequestSpec:
        return cls(
            project_id=str(data.get("project_id") or ""),
            user_id=str(data.get("user_id") or ""),
            flavor=dict(data.get("flavor") or {}),
            image=data.get("image"),
            availability_zone=data.get("availability_zone"),
            scheduler_hints=dict(data.get("scheduler_hints") or {}),
            group=data.get("group"),
            force_hosts=list(data.get("force_hosts") or []),
            force_nodes=list(data.get("force_nodes") or []),
            requested_destination=data.get("requested_destination"),
            ignore_hosts=list(data.get("ignore_hosts") or []),
            num_instances=int(data.get("num_instances") or 1),
            is_bfv=bool(data.get("is_bfv")),
        )

    @property
    def extra_specs(self) -> dict[str, str]:
        return dict(self.flavor.get("extra_specs") or {})

    @property
    def image_properties(self) -> dict[str, Any]:
        return dict((self.image or {}).get("properties") or {})

    def hint_list(self, name: str) -> list[str]:
        value = self.scheduler_hints.get(name)
        if value is None:
            return []
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]

    def resources(self) -> dict[str, int]:
        """The placement resources this flavor needs (extra specs may override them)."""
        flavor = self.flavor
        disk = 0 if self.is_bfv else int(flavor.get("root_gb") or 0)
        disk += int(flavor.get("ephemeral_gb") or 0)
        disk += math.ceil(int(flavor.get("swap") or 0) / 1024)
        wanted = {
            "VCPU": int(flavor.get("vcpus") or 0),
            "MEMORY_MB": int(flavor.get("memory_mb") or 0),
            "DISK_GB": disk,
        }
        for key, value in self.extra_specs.items():
            if key.startswith("resources:"):
                try:
                    wanted[key.split(":", 1)[1]] = int(value)
                except ValueError:
                    continue
        return {rc: amount for rc, amount in wanted.items() if amount > 0}

    def traits(self) -> list[str]:
        """Required (``X``) and forbidden (``!X``) traits from extra specs and image."""
        found = [f"!{DISABLED_TRAIT}"]
        sources = list(self.extra_specs.items()) + list(self.image_properties.items())
        for key, value in sources:
            if not key.startswith("trait:"):
                continue
            name = key.split(":", 1)[1]
            if value == "required":
                found.append(name)
            elif value == "forbidden":
                found.append(f"!{name}")
        return sorted(set(found))
