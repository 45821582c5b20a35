"""Usages per provider and per project/user (1.9), grouped by consumer type (1.38)."""

from __future__ import annotations

import uuid

from .conftest import Api


def test_provider_usages(api: Api) -> None:
    rp = api.provider(inventory={"VCPU": 8, "DISK_GB": 100})
    api.allocate(str(uuid.uuid4()), {rp: {"VCPU": 2}})
    api.allocate(str(uuid.uuid4()), {rp: {"VCPU": 1, "DISK_GB": 10}})
    body = api.get(f"/resource_providers/{rp}/usages", version="1.0", status=200).json()
    assert body == {
        "resource_provider_generation": api.generation(rp),
        "usages": {"VCPU": 3, "DISK_GB": 10},
    }
    api.get(f"/resource_providers/{uuid.uuid4()}/usages", status=404)


def test_total_usages(api: Api) -> None:
    rp = api.provider(inventory={"VCPU": 16, "MEMORY_MB": 4096})
    api.allocate(str(uuid.uuid4()), {rp: {"VCPU": 2}}, project_id="p1", user_id="u1")
    api.allocate(
        str(uuid.uuid4()),
        {rp: {"VCPU": 1, "MEMORY_MB": 512}},
        project_id="p1",
        user_id="u2",
        consumer_type="MIGRATION",
    )
    api.allocate(str(uuid.uuid4()), {rp: {"VCPU": 4}}, project_id="p2", user_id="u1")
    old_consumer = str(uuid.uuid4())
    body = {"allocations": {rp: {"resources": {"VCPU": 3}}}, "project_id": "p1", "user_id": "u1"}
    api.put(f"/allocations/{old_consumer}", body, version="1.12", status=204)

    api.get("/usages?project_id=p1", version="1.8", status=404)
    assert api.get("/usages?project_id=p1", version="1.9").json() == {
        "usages": {"VCPU": 6, "MEMORY_MB": 512}
    }
    assert api.get("/usages?project_id=p1&user_id=u1", version="1.9").json() == {
        "usages": {"VCPU": 5}
    }
    assert api.get("/usages?project_id=nobody", version="1.9").json() == {"usages": {}}
    api.get("/usages", status=400)
    api.get("/usages?project_id=p1&consumer_type=INSTANCE", version="1.37", status=400)

    grouped = api.get("/usages?project_id=p1", version="1.38").json()["usages"]
    assert grouped == {
        "INSTANCE": {"VCPU": 2, "consumer_count": 1},
        "MIGRATION": {"VCPU": 1, "MEMORY_MB": 512, "consumer_count": 1},
        "unknown": {"VCPU": 3, "consumer_count": 1},
    }
    everything = api.get("/usages?project_id=p1&consumer_type=all").json()["usages"]
    assert everything == {"all": {"VCPU": 6, "MEMORY_MB": 512, "consumer_count": 3}}
    unknown = api.get("/usages?project_id=p1&consumer_type=unknown").json()["usages"]
    assert unknown == {"unknown": {"VCPU": 3, "consumer_count": 1}}
    only = api.get("/usages?project_id=p1&consumer_type=MIGRATION").json()["usages"]
    assert list(only) == ["MIGRATION"]
    api.get("/usages?project_id=p1&consumer_type=bad-type", status=400)
