"""Rolling upgrade machinery: version caps, payload backports, expand/contract migrations."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tinystack.common import migration
from tinystack.common.db import Database
from tinystack.common.rpc import (
    RPCClient,
    RPCServer,
    RPCVersionCapError,
    Target,
    UnsupportedVersion,
    get_transport,
)
from tinystack.common.rpc.payload import JSON, Payload, PayloadError, since, version_tuple
from tinystack.common.rpc.versions import VersionCap, payloads_for
from tinystack.compute import objects as compute_objects
from tinystack.compute import rpcapi as compute_rpcapi
from tinystack.network import payloads as network_payloads
from tinystack.volume import payloads as volume_payloads

#: the services' payload modules, imported so the meta-test below sees every payload
PAYLOAD_MODULES = (compute_objects, network_payloads, volume_payloads)


@dataclass(frozen=True)
class Event(Payload):
    VERSION: ClassVar[str] = "1.2"
    name: str
    host: str | None = field(default=None, metadata=since("1.1"))
    zone: str | None = field(default=None, metadata=since("1.2"))

    def backport(self, data: dict[str, JSON], version: str) -> None:
        if version == "1.0":  # 1.0 readers want the name upper-case (a rewrite, not a drop)
            data["name"] = str(data["name"]).upper()


@dataclass(frozen=True)
class Batch(Payload):
    VERSION: ClassVar[str] = "2.0"
    events: list[Event]


def test_backport_drops_the_fields_added_later_and_rewrites_nested_payloads() -> None:
    batch = Batch([Event("boot", "h1", "z1")])
    assert batch.to_primitive()["tinystack.data"]["events"][0]["tinystack.version"] == "1.2"  # type: ignore[index,call-overload]
    old = batch.to_primitive({"Event": "1.1"})
    event: Any = old["tinystack.data"]["events"][0]  # type: ignore[index,call-overload]
    assert event["tinystack.version"] == "1.1"
    assert event["tinystack.data"] == {"name": "boot", "host": "h1"}
    oldest: Any = Batch([Event("boot", "h1", "z1")]).to_primitive({"Event": "1.0"})
    assert oldest["tinystack.data"]["events"][0]["tinystack.data"] == {"name": "BOOT"}
    assert oldest["tinystack.version"] == "2.0"  # Batch itself not named: current
    assert Event.from_primitive(event) == Event("boot", "h1")
    # a version at or above the current one, or none, leaves it as it is
    assert Event("e").to_primitive({"Event": "1.5"})["tinystack.version"] == "1.2"
    with pytest.raises(PayloadError, match="cannot backport"):
        Batch([]).to_primitive({"Batch": "1.9"})


def test_payloads_for_collects_every_later_history_entry() -> None:
    history = {"2.1": {"Event": "1.1"}, "2.4": {"Event": "1.2", "Batch": "2.0"}}
    assert payloads_for(history, "2.5") == {}
    assert payloads_for(history, "2.4") == {"Event": "1.2", "Batch": "2.0"}
    assert payloads_for(history, "2.2") == {"Event": "1.2", "Batch": "2.0"}
    assert payloads_for(history, "2.0") == {"Event": "1.1", "Batch": "2.0"}


def test_version_cap_fixed_alias_auto_and_refresh() -> None:
    assert VersionCap("compute", "")() is None
    assert VersionCap("compute", "2.1")() == "2.1"
    assert VersionCap("compute", "zed", aliases={"zed": "2.0"})() == "2.0"
    with pytest.raises(ValueError, match=r"\[upgrade_levels\] compute = 'newest': not a version"):
        VersionCap("compute", "newest")
    reported = [["2.3", "2.10", "2.2"]]
    cap = VersionCap("compute", "auto", reported=lambda: reported[0], refresh=0.0)
    assert cap() == "2.2"  # numeric order: 2.10 is the newest
    reported[0] = []
    assert cap() is None  # nobody reports yet: no cap
    cached = VersionCap("compute", "auto", reported=lambda: reported[0], refresh=60)
    reported[0] = ["2.1"]
    assert cached() == "2.1"
    reported[0] = ["2.2"]
    assert cached() == "2.1"  # until the refresh


class OldEndpoint:
    target = Target("tsup-compute", version="2.1")

    def build(self, ctxt: dict[str, Any], name: str) -> str:
        return f"built {name}"


@pytest.fixture
def old_server() -> Iterator[str]:
    url = f"inproc://tsup-{uuid.uuid4().hex}"
    server_transport = get_transport(url)
    server = RPCServer(server_transport, Target("tsup-compute", server="old"), [OldEndpoint()])
    server.start()
    try:
        yield url
    finally:
        server.stop()
        server.wait()
        server_transport.close()


def test_a_capped_client_speaks_the_old_servers_version(old_server: str) -> None:
    transport = get_transport(old_server)
    try:
        target = Target("tsup-compute", server="old", version="2.2")
        uncapped = RPCClient(transport, target, timeout=5)
        with pytest.raises(UnsupportedVersion):
            uncapped.call({}, "build", name="vm")  # what an uncapped new caller would get
        capped = RPCClient(transport, target, timeout=5, version_cap=lambda: "2.1")
        assert capped.send_version() == "2.1"
        assert capped.call({}, "build", name="vm") == "built vm"
        assert capped.can_send_version("2.1") and not capped.can_send_version("2.2")
        assert not RPCClient(transport, target).can_send_version("2.3")  # above its own
        with pytest.raises(RPCVersionCapError, match="above the cap 2.1"):
            capped.prepare(version="2.2").cast({}, "build", name="vm")  # a method new in 2.2
        assert capped.prepare(version="2.0").call({}, "build", name="vm") == "built vm"
    finally:
        transport.close()


COMPUTE = "tinystack.compute.migrations"
TABLE = "alembic_version_compute"


@pytest.fixture
def compute_db() -> Iterator[Database]:
    with tempfile.TemporaryDirectory(prefix="tsup-") as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'compute.sqlite'}")
        try:
            yield db
        finally:
            db.dispose()


def test_expand_then_contract(compute_db: Database) -> None:
    expand = migration.pending(compute_db, COMPUTE, TABLE, "expand")
    assert "compute_0003" in expand and expand[-1] not in ("compute_0002", "compute_0004")
    assert migration.upgrade(compute_db, COMPUTE, TABLE, "expand")
    assert migration.pending(compute_db, COMPUTE, TABLE, "expand") == []
    assert migration.pending(compute_db, COMPUTE, TABLE, "contract") == ["compute_0004"]
    # an existing database: a service's start only expands
    assert not migration.upgrade(compute_db, COMPUTE, TABLE)
    assert migration.pending(compute_db, COMPUTE, TABLE, "contract") == ["compute_0004"]
    assert migration.upgrade(compute_db, COMPUTE, TABLE, "contract")
    assert migration.pending(compute_db, COMPUTE, TABLE, "contract") == []


def test_a_new_database_goes_to_every_head(compute_db: Database) -> None:
    assert migration.upgrade(compute_db, COMPUTE, TABLE)
    assert migration.pending(compute_db, COMPUTE, TABLE, "contract") == []
    # a service with one linear history has no contract branch
    placement = "tinystack.placement.migrations"
    assert migration.pending(compute_db, placement, "alembic_version_placement", "contract") == []


def _subclasses(cls: type[Payload]) -> list[type[Payload]]:
    found: list[type[Payload]] = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def test_every_payload_field_added_later_names_a_version_it_has() -> None:
    """The rule at merge: a field added in a minor says ``since``, within the payload's
    version and major, so a capped sender can drop it."""
    checked = 0
    for cls in _subclasses(Payload):
        if not cls.__module__.startswith("tinystack."):
            continue
        checked += 1
        for f in fields(cls):  # type: ignore[arg-type]
            added = f.metadata.get("since")
            if added is None:
                continue
            assert version_tuple(added)[0] == version_tuple(cls.VERSION)[0], (cls, f.name)
            assert version_tuple(added) <= version_tuple(cls.VERSION), (cls, f.name)
    assert checked > 30
    # every backport compute's history names is to an older version of a real payload
    payloads = {c.__name__: c for c in _subclasses(Payload)}
    for payload_versions in compute_rpcapi.COMPUTE_PAYLOADS.values():
        for name, version in payload_versions.items():
            assert version_tuple(version) < version_tuple(payloads[name].VERSION)
