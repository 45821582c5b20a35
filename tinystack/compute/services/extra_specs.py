"""Validation of flavor extra specs (2.86): known keys must have valid values, and unknown
keys in namespaces compute owns are refused; keys in other namespaces pass."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tinystack.common.exceptions import BadRequest

_CPU_MASK = r"\^?\d+((-\d+)?(,\^?\d+(-\d+)?)?)*"
_GROUP = r"([a-zA-Z0-9_-]{1,64})?"


@dataclass(frozen=True)
class Spec:
    """One known key (a regular expression) and what its value may be."""

    name: str
    kind: str = "str"  # str, int or bool
    enum: tuple[str, ...] = ()
    pattern: str | None = None
    minimum: int | None = None
    maximum: int | None = None


def _bools(*names: str) -> list[Spec]:
    return [Spec(n, "bool") for n in names]


def _ints(minimum: int | None, *names: str) -> list[Spec]:
    return [Spec(n, "int", minimum=minimum) for n in names]


KNOWN: list[Spec] = [
    Spec(r"accel:device_profile"),
    Spec(r"aggregate_instance_extra_specs:.+"),
    Spec(r"capabilities:\w+(:\w+)*"),
    *_bools(
        r"hw:cpu_realtime",
        r"hw:hide_hypervisor_id",
        r"hw:locked_memory",
        r"hw:boot_menu",
        r"hw:vif_multiqueue_enabled",
        r"hw:mem_encryption",
        r"hw:pmu",
        r"hw:virtio_packed_ring",
        r"hw:ephemeral_encryption",
        r"hw_rng:allowed",
        r"hide_hypervisor_id",
    ),
    Spec(r"hw:cpu_realtime_mask", pattern=r"(\^)?\d+((-\d+)?(,\^?\d+(-\d+)?)?)*"),
    Spec(r"hw:cpu_policy", enum=("dedicated", "shared", "mixed")),
    Spec(r"hw:cpu_thread_policy", enum=("prefer", "isolate", "require")),
    Spec(r"hw:emulator_threads_policy", enum=("isolate", "share")),
    Spec(r"hw:cpu_dedicated_mask", pattern=_CPU_MASK),
    Spec(r"hw:mem_page_size", pattern=r"(large|small|any|\d+([kKMGT]i?)?(b|bit|B)?)"),
    Spec(r"hw:numa_cpus\.\d+", pattern=_CPU_MASK),
    *_ints(
        1,
        r"hw:numa_nodes",
        r"hw:numa_mem\.\d+",
        r"hw:cpu_sockets",
        r"hw:cpu_cores",
        r"hw:cpu_threads",
        r"hw:cpu_max_sockets",
        r"hw:cpu_max_cores",
        r"hw:cpu_max_threads",
    ),
    Spec(r"hw:pci_numa_affinity_policy", enum=("required", "preferred", "legacy", "socket")),
    Spec(r"hw:mem_encryption_model", enum=("amd-sev", "amd-sev-es", "amd-sev-snp")),
    Spec(r"hw:pmem", pattern=r"([a-zA-Z0-9_]+(,)?)+"),
    *_ints(
        0,
        r"hw:serial_port_count",
        r"hw_rng:rate_bytes",
        r"hw_rng:rate_period",
        r"hw_video:ram_max_mb",
        r"quota:cpu_shares",
        r"quota:cpu_period",
        r"quota:\w+_limit",
        r"quota:\w+_shares_share",
        r"quota:disk_\w+_\w+_sec",
        r"quota:vif_\w+_\w+",
    ),
    Spec(r"hw:tpm_model", enum=("tpm-tis", "tpm-crb")),
    Spec(r"hw:tpm_version", enum=("1.2", "2.0")),
    Spec(r"hw:tpm_secret_security", enum=("user", "host", "deployment")),
    Spec(r"hw:watchdog_action", enum=("none", "pause", "poweroff", "reset", "disabled")),
    Spec(r"hw:viommu_model", enum=("intel", "smmuv3", "virtio", "auto")),
    Spec(
        r"hw:sound_model", enum=("sb16", "es1370", "pcspk", "ac97", "ich6", "ich9", "usb", "virtio")
    ),
    Spec(r"hw:usb_model", enum=("none", "nec-xhci", "qemu-xhci")),
    Spec(r"hw:redirected_usb_ports", "int", minimum=0, maximum=15),
    Spec(r"hw:ephemeral_encryption_format", enum=("luks",)),
    Spec(r"group_policy", enum=("isolate", "none")),
    Spec(r"os:secure_boot", enum=("disabled", "required")),
    Spec(r"pci_passthrough:alias", pattern=r"[^:]+:\d+(?:\s*,\s*[^:]+:\d+)*"),
    Spec(r"quota:cpu_quota", "int"),
    Spec(r"quota:\w+_reservation", "int"),
    Spec(r"quota:\w+_shares_level", enum=("custom", "high", "normal", "low")),
    Spec(rf"resources{_GROUP}:[A-Z0-9_]+", "int"),
    Spec(rf"trait{_GROUP}:[A-Z0-9_]+", enum=("required", "forbidden")),
    Spec(r"vmware:hw_version"),
    Spec(r"vmware:storage_policy"),
]
#: namespaces whose unknown keys are refused
OWNED = re.compile(
    r"(accel|aggregate_instance_extra_specs|capabilities|hw|hw_rng|hw_video|os|pci_passthrough"
    r"|quota|resources\S*|trait\S*|vmware)"
)
_BOOLS = {"true", "false", "1", "0", "yes", "no", "on", "off", "t", "f", "y", "n"}


def _invalid(reason: str) -> BadRequest:
    return BadRequest(f"Validation failed; {reason}")


def _check_value(spec: Spec, name: str, value: str) -> None:
    if spec.kind == "bool":
        if value.lower() not in _BOOLS:
            raise _invalid(f"'{value}' is not a valid boolean value for {name}.")
        return
    if spec.kind == "int":
        try:
            number = int(value)
        except ValueError:
            raise _invalid(f"'{value}' is not a valid integer for {name}.") from None
        if spec.minimum is not None and number < spec.minimum:
            raise _invalid(f"'{value}' is less than the minimum of {spec.minimum}.")
        if spec.maximum is not None and number > spec.maximum:
            raise _invalid(f"'{value}' is greater than the maximum of {spec.maximum}.")
        return
    if spec.pattern is not None and not re.fullmatch(spec.pattern, value):
        raise _invalid(f"'{value}' is not of the format '{spec.pattern}'.")
    if spec.enum and value not in spec.enum:
        raise _invalid(f"'{value}' is not one of: {', '.join(spec.enum)}.")


def validate(name: str, value: str) -> None:
    """Raise BadRequest if ``name=value`` is not a valid extra spec."""
    for spec in KNOWN:
        if re.fullmatch(spec.name, name):
            _check_value(spec, name, value)
            return
    if ":" in name and OWNED.fullmatch(name.split(":", 1)[0]):
        raise _invalid(f"extra spec '{name}' does not appear to be a valid extra spec.")
