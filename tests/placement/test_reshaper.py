"""POST /reshaper (1.30): move inventory and its allocations from a root to a child."""

from __future__ import annotations

import uuid
from typing import Any

from .conftest import Api


def reshape(api: Api, body: object, **kw: Any) -> Any:
    """POST /reshaper as the compute service: the only role allowed to (as upstream)."""
    return api.post("/reshaper", body, token=api.token_for(["service"], "service"), **kw)


def test_only_the_service_role_reshapes(api: Api) -> None:
    body: dict[str, object] = {"inventories": {}, "allocations": {}}
    api.post("/reshaper", body, status=403)
    reshape(api, body, status=400)


def test_reshape_moves_inventory_and_allocations(api: Api) -> None:
    host = api.provider("host", inventory={"VCPU": 8, "VGPU": 4})
    child = api.provider("gpu", parent=host)
    consumer = str(uuid.uuid4())
    api.allocate(consumer, {host: {"VCPU": 2, "VGPU": 1}})
    body = {
        "inventories": {
            host: {
                "resource_provider_generation": api.generation(host),
                "inventories": {"VCPU": {"total": 8}},
            },
            child: {
                "resource_provider_generation": api.generation(child),
                "inventories": {"VGPU": {"total": 4}},
            },
        },
        "allocations": {
            consumer: {
                "allocations": {
                    host: {"resources": {"VCPU": 2}},
                    child: {"resources": {"VGPU": 1}},
                },
                "project_id": "project-a",
                "user_id": "user-a",
                "consumer_generation": 1,
            }
        },
    }
    reshape(api, body, version="1.29", status=404)
    reshape(api, body, version="1.30", status=204)
    assert api.get(f"/resource_providers/{host}/usages").json()["usages"] == {"VCPU": 2}
    assert api.get(f"/resource_providers/{child}/usages").json()["usages"] == {"VGPU": 1}
    found = api.get(f"/allocations/{consumer}").json()
    assert found["consumer_generation"] == 2
    assert set(found["allocations"]) == {host, child}


def test_reshape_errors(api: Api) -> None:
    host = api.provider("host", inventory={"VCPU": 8})
    consumer = str(uuid.uuid4())
    api.allocate(consumer, {host: {"VCPU": 2}})
    drop = {
        "inventories": {
            host: {"resource_provider_generation": api.generation(host), "inventories": {}}
        },
        "allocations": {},
    }
    error = reshape(api, drop, status=409).json()["errors"][0]
    assert error["code"] == "placement.inventory.inuse"
    stale = {
        "inventories": {host: {"resource_provider_generation": 0, "inventories": {}}},
        "allocations": {},
    }
    error = reshape(api, stale, status=409).json()["errors"][0]
    assert error["code"] == "placement.concurrent_update"
    missing = str(uuid.uuid4())
    unknown = {
        "inventories": {missing: {"resource_provider_generation": 0, "inventories": {}}},
        "allocations": {},
    }
    error = reshape(api, unknown, status=400).json()["errors"][0]
    assert error["code"] == "placement.resource_provider.not_found"
    reshape(api, {"inventories": {}, "allocations": {}}, status=400)
    typed = {
        "inventories": drop["inventories"],
        "allocations": {
            consumer: {
                "allocations": {},
                "project_id": "p",
                "user_id": "u",
                "consumer_generation": 1,
            }
        },
    }
    reshape(api, typed, version="1.38", status=400)  # consumer_type required
    reshape(api, typed, version="1.37", status=204)  # clears both
    assert api.get(f"/resource_providers/{host}/inventories").json()["inventories"] == {}
