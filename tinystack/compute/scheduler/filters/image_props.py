"""ImagePropertiesFilter: the host supports the image's architecture, hypervisor and mode."""

from __future__ import annotations

from tinystack.compute.objects import RequestSpec
from tinystack.compute.scheduler.filters import BaseFilter
from tinystack.compute.scheduler.filters.extra_specs_ops import match
from tinystack.compute.scheduler.host_state import HostState


class ImagePropertiesFilter(BaseFilter):
    run_once_per_request = True

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        props = spec.image_properties
        arch = props.get("hw_architecture") or props.get("architecture")
        hv_type = props.get("img_hv_type") or props.get("hypervisor_type")
        vm_mode = props.get("hw_vm_mode") or props.get("vm_mode")
        requires = props.get("img_hv_requested_version") or props.get("hypervisor_version_requires")
        if requires and not match(host.facts.hypervisor_version, str(requires)):
            return False
        if not (arch or hv_type or vm_mode):
            return True
        for supported in host.facts.supported_instances:
            s_arch, s_type, s_mode = (list(supported) + ["", "", ""])[:3]
            if arch and arch != s_arch:
                continue
            if hv_type and hv_type.lower() != s_type.lower():
                continue
            if vm_mode and vm_mode != s_mode:
                continue
            return True
        return False
