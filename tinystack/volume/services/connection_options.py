"""What the manager adds to a driver's connection info (upstream's
``_parse_connection_options``): the QoS specs the compute side enforces, the access
mode, and the encrypted and cacheable flags.

Only QoS specs whose consumer is ``front-end`` or ``both`` travel (a ``back-end`` spec is
the storage's business). Per-GiB keys become absolute limits for the volume's size:
``total_iops_sec_per_gb = 10`` on a 20 GiB volume is ``total_iops_sec = 200``, raised to
``..._per_gb_min`` and capped by ``..._max`` when those are given.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from tinystack.common.rpc.payload import JSON
from tinystack.volume import models

_FRONT_END = ("front-end", "both")
_TUNABLE = (
    "read_iops_sec",
    "read_bytes_sec",
    "write_iops_sec",
    "write_bytes_sec",
    "total_iops_sec",
    "total_bytes_sec",
)
_TRUE_SPEC = "<is> True"


def build(session: Session, volume: models.Volume, mode: str) -> dict[str, JSON]:
    """``qos_specs``, ``access_mode``, ``encrypted`` and ``cacheable`` for ``volume``."""
    specs: dict[str, str] | None = None
    cacheable = False
    if volume.volume_type_id:
        vtype = session.get(models.VolumeType, volume.volume_type_id)
        if vtype is not None and vtype.qos_specs_id:
            qos = session.get(models.QualityOfServiceSpecs, vtype.qos_specs_id)
            if qos is not None and qos.consumer in _FRONT_END:
                specs = per_gb(dict(qos.specs or {}), volume.size)
        extra = session.get(models.VolumeTypeExtraSpec, (volume.volume_type_id, "cacheable"))
        cacheable = extra is not None and extra.value == _TRUE_SPEC
    qos_specs: JSON = dict(specs) if specs is not None else None
    return {
        "qos_specs": qos_specs,
        "access_mode": mode,
        "encrypted": bool(volume.encryption_key_id),
        "cacheable": cacheable,
    }


def per_gb(specs: dict[str, str], size: int) -> dict[str, str]:
    """``<key>_per_gb`` (with ``_per_gb_min`` and ``_max``) as ``<key>`` for ``size`` GiB."""
    for key in _TUNABLE:
        per = specs.pop(f"{key}_per_gb", None)
        if per is None:
            continue
        try:
            minimum = int(specs.pop(f"{key}_per_gb_min", 0))
            value = max(minimum, int(per) * size)
            maximum = int(specs.pop(f"{key}_max", value))
        except ValueError:
            continue
        specs[key] = str(min(value, maximum))
    return specs
