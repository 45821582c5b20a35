"""The services tinystack can run, in start order, imported only when enabled."""

from __future__ import annotations

import importlib

from oslo_config import cfg

from tinystack.common.service import ServiceSpec

# name -> module holding SERVICE; order is start (and bootstrap) order.
SERVICES: dict[str, str] = {
    "identity": "tinystack.identity.service",
    "placement": "tinystack.placement.service",
    "image": "tinystack.image.service",
    "compute": "tinystack.compute.service",
    "volume": "tinystack.volume.service",
    "network": "tinystack.network.service",
    "object_store": "tinystack.object_store.service",
    "metric": "tinystack.metric.service",
    "alarm": "tinystack.alarm.service",
    "load_balancer": "tinystack.load_balancer.service",
    "dashboard": "tinystack.dashboard.service",
}

#: ``tinystack serve`` names that run one role of a service (the distributed mode of a
#: service split in several servers): name -> (service, its options set for that role)
ROLES: dict[str, tuple[str, dict[str, str]]] = {
    "object-store-proxy": ("object_store", {"role": "proxy"}),
    "object-store-storage": ("object_store", {"role": "storage"}),
}


def serve(conf: cfg.ConfigOpts, name: str) -> str:
    """The service a ``tinystack serve`` name runs, with ``conf`` set for the role it
    names (``ROLES``); a service's own name is returned as it is."""
    if name not in ROLES:
        return name
    service, options = ROLES[name]
    load(service).register_opts(conf)
    for key, value in options.items():
        conf.set_override(key, value, group=service)
    return service


def available() -> list[str]:
    """Services whose package is present in this installation."""
    names = []
    for name, module in SERVICES.items():
        if importlib.util.find_spec(module) is not None:
            names.append(name)
    return names


def load(name: str) -> ServiceSpec:
    if name not in SERVICES:
        raise KeyError(f"unknown service {name!r}; known: {', '.join(SERVICES)}")
    module = importlib.import_module(SERVICES[name])
    spec: ServiceSpec = module.SERVICE
    return spec
