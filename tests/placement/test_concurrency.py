"""Claims racing for the last units: exactly the capacity is granted, never more."""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from .conftest import Api

THREADS = 50
CAPACITY = 20


#: what a client retries, as nova's report client does: the server re-ran the write as often
#: as configured (``allocation_conflict_retry_count``) and lost the race every time
CONCURRENT_UPDATE = "placement.concurrent_update"


def race_for_capacity(api: Api) -> None:
    """50 threads each claim 1 VCPU from a provider with 20: 20 win, 30 get a 409 that
    says the capacity is exceeded (a lost race is retried, as clients do)."""
    rp = api.provider("contended", inventory={"VCPU": CAPACITY})

    def claim(_: int) -> int:
        consumer = str(uuid.uuid4())
        for _attempt in range(10):
            response = api.allocate(consumer, {rp: {"VCPU": 1}}, status=None)
            if response.status_code != 409:
                break
            if response.json()["errors"][0].get("code") != CONCURRENT_UPDATE:
                assert "exceed the capacity" in response.text, response.text
                break
        return int(response.status_code)

    with ThreadPoolExecutor(THREADS) as pool:
        statuses = Counter(pool.map(claim, range(THREADS)))
    assert statuses == {204: CAPACITY, 409: THREADS - CAPACITY}, statuses
    allocations = api.get(f"/resource_providers/{rp}/allocations", status=200).json()
    assert len(allocations["allocations"]) == CAPACITY
    usages = api.get(f"/resource_providers/{rp}/usages", status=200).json()["usages"]
    assert usages == {"VCPU": CAPACITY}


def race_for_one_consumer(api: Api) -> None:
    """Writers sharing a consumer generation: exactly one of them succeeds."""
    rp = api.provider("shared", inventory={"VCPU": 100})
    consumer = str(uuid.uuid4())
    api.allocate(consumer, {rp: {"VCPU": 1}})

    def update(amount: int) -> int:
        response = api.allocate(consumer, {rp: {"VCPU": amount}}, generation=1, status=None)
        return int(response.status_code)

    with ThreadPoolExecutor(10) as pool:
        statuses = Counter(pool.map(update, range(2, 12)))
    assert statuses == {204: 1, 409: 9}, statuses
    assert api.get(f"/allocations/{consumer}").json()["consumer_generation"] == 2


def test_race_for_capacity(api: Api) -> None:
    race_for_capacity(api)


def test_race_for_one_consumer(api: Api) -> None:
    race_for_one_consumer(api)
