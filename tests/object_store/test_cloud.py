"""The Swift API on a real cloud (identity + object storage, one per module, 4 devices in
4 zones, 3 replicas): the openstack CLI, python-swiftclient (library and `swift` CLI),
listings, metadata, ranges and conditions, copies, a device down (reads work, writes
reach a quorum on a handoff), async pendings caught up by the updater."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from swiftclient import client as swift
from swiftclient.exceptions import ClientException

from tests.cloudproc import CloudProcess
from tests.object_store.conftest import swift_cli
from tinystack.object_store.ring.layout import Rings
from tinystack.object_store.ring.ring import hash_path

CLOUD_CONF = "[object_store]\ndefault_devices = 4\nreplicator_interval = 1\nauditor_interval = 1\n"


def devices(cloud: CloudProcess) -> Path:
    return cloud.state_dir / "object_store" / "devices"


def data_files(cloud: CloudProcess, account: str, container: str, obj: str) -> list[Path]:
    rings = Rings.load(cloud.state_dir / "object_store" / "rings")
    ring = rings.object
    name_hash = hash_path("", ring.suffix, account, container, obj)
    part = ring.part(account, container, obj)
    found = []
    for dev in sorted(devices(cloud).iterdir()):
        where = dev / "objects" / str(part) / name_hash[-3:] / name_hash
        found += sorted(where.glob("*.data")) if where.is_dir() else []
    return found


def wait_for(check: Any, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.2)


def test_openstack_cli_round_trip(cloud: CloudProcess, tmp_path: Path) -> None:
    cloud.osc("container", "create", "osc")
    assert "osc" in [c["Name"] for c in cloud.osc("container", "list")]
    payload = os.urandom(300_000)
    src = tmp_path / "blob.bin"
    src.write_bytes(payload)
    created = cloud.osc("object", "create", "--name", "blob.bin", "osc", str(src))
    assert created[0]["etag"] == hashlib.md5(payload).hexdigest()
    assert [o["Name"] for o in cloud.osc("object", "list", "osc")] == ["blob.bin"]
    out = tmp_path / "saved.bin"
    cloud.osc("object", "save", "osc", "blob.bin", "--file", str(out))
    assert hashlib.md5(out.read_bytes()).hexdigest() == hashlib.md5(payload).hexdigest()
    shown = cloud.osc("container", "show", "osc")
    assert int(shown["object_count"]) == 1 and int(shown["bytes_used"]) == len(payload)
    cloud.osc("object", "delete", "osc", "blob.bin")
    assert cloud.osc("object", "list", "osc") == []
    deleted = cloud.osc_raw("container", "delete", "osc")
    assert deleted.returncode == 0, deleted.stderr
    assert "osc" not in [c["Name"] for c in cloud.osc("container", "list")]


def test_swift_cli_upload_download(cloud: CloudProcess, tmp_path: Path) -> None:
    tree = tmp_path / "up"
    (tree / "sub").mkdir(parents=True)
    files = {"a.txt": b"alpha" * 1000, "sub/b.bin": os.urandom(70_000)}
    for name, data in files.items():
        (tree / name).write_bytes(data)

    def run(*args: str) -> str:
        return swift_cli(cloud, *args, cwd=tree)

    run("upload", "cli", "a.txt", "sub/b.bin")
    assert sorted(run("list", "cli").split()) == ["a.txt", "sub/b.bin"]
    down = tmp_path / "down"
    down.mkdir()
    swift_cli(cloud, "download", "cli", cwd=down)
    for name, data in files.items():
        assert (down / name).read_bytes() == data
    stat = run("stat", "cli")
    assert "Objects: 2" in stat
    run("delete", "cli")
    # As in Swift, a container replica whose object updates were still pending (async
    # pendings under load) may refuse the delete and answer a HEAD until the updater and
    # the replicators settle it: the container is gone within a bounded time.
    deadline = time.monotonic() + 60
    while True:
        try:
            run("stat", "cli")
        except AssertionError:
            break
        assert time.monotonic() < deadline, "container still there 60 s after its delete"
        time.sleep(0.5)


def test_listings(conn: swift.Connection) -> None:
    conn.put_container("list")
    names = ["a/1", "a/2", "b", "c/x/y", "d"]
    for name in names:
        conn.put_object("list", name, b"x", content_type="text/plain")
    found, rows = conn.get_container("list")
    assert [r["name"] for r in rows] == names
    assert found["x-storage-policy"] == "Policy-0"  # the JSON fast path too (Tempest checks)
    assert rows[0]["bytes"] == 1 and rows[0]["hash"] == hashlib.md5(b"x").hexdigest()
    assert rows[0]["content_type"] == "text/plain"
    _, rows = conn.get_container("list", delimiter="/")
    assert [r.get("name") or r.get("subdir") for r in rows] == ["a/", "b", "c/", "d"]
    _, rows = conn.get_container("list", prefix="a/", limit=1)
    assert [r["name"] for r in rows] == ["a/1"]
    _, rows = conn.get_container("list", marker="a/2", end_marker="d")
    assert [r["name"] for r in rows] == ["b", "c/x/y"]
    url, token = conn.get_auth()
    plain = urllib.request.Request(f"{url}/list?format=plain", headers={"X-Auth-Token": token})
    with urllib.request.urlopen(plain) as resp:
        assert resp.read().decode().split() == names
        assert int(resp.headers["X-Container-Object-Count"]) == 5
    xml = urllib.request.Request(f"{url}/list?format=xml&limit=1", headers={"X-Auth-Token": token})
    with urllib.request.urlopen(xml) as resp:
        assert b'<container name="list"><object><hash>' in resp.read().replace(b"\n", b"")
    with pytest.raises(ClientException) as err:
        conn.get_container("list", limit=10001)
    assert err.value.http_status == 412
    with pytest.raises(ClientException) as err:
        conn.delete_container("list")
    assert err.value.http_status == 409
    _, containers = conn.get_account()
    assert "list" in [c["name"] for c in containers]

    def counted() -> bool:
        return int(conn.head_account()["x-account-object-count"]) >= 5

    wait_for(counted)


def test_metadata_ranges_conditions_copy(conn: swift.Connection) -> None:
    conn.put_container("meta", headers={"X-Container-Meta-Color": "blue"})
    assert conn.head_container("meta")["x-container-meta-color"] == "blue"
    conn.post_container("meta", {"X-Remove-Container-Meta-Color": "x"})
    assert "x-container-meta-color" not in conn.head_container("meta")
    conn.post_account({"X-Account-Meta-Owner": "me"})
    assert conn.head_account()["x-account-meta-owner"] == "me"
    body = bytes(range(256)) * 40
    etag = conn.put_object("meta", "o", body, headers={"X-Object-Meta-A": "1"})
    assert etag == hashlib.md5(body).hexdigest()
    headers = conn.head_object("meta", "o")
    assert headers["x-object-meta-a"] == "1" and int(headers["content-length"]) == len(body)
    _, part = conn.get_object("meta", "o", headers={"Range": "bytes=10-19"})
    assert part == body[10:20]
    _, tail = conn.get_object("meta", "o", headers={"Range": "bytes=-5"})
    assert tail == body[-5:]
    with pytest.raises(ClientException) as err:
        conn.get_object("meta", "o", headers={"Range": f"bytes={len(body)}-"})
    assert err.value.http_status == 416
    with pytest.raises(ClientException) as err:
        conn.get_object("meta", "o", headers={"If-Match": '"nope"'})
    assert err.value.http_status == 412
    with pytest.raises(ClientException) as err:
        conn.get_object("meta", "o", headers={"If-None-Match": etag})
    assert err.value.http_status == 304
    assert err.value.http_response_headers["etag"].strip('"') == etag
    with pytest.raises(ClientException) as err:
        conn.put_object("meta", "o", b"new", headers={"If-None-Match": "*"})
    assert err.value.http_status == 412
    with pytest.raises(ClientException) as err:
        conn.put_object("meta", "bad", b"data", etag="0" * 32)
    assert err.value.http_status == 422
    with pytest.raises(ClientException):
        conn.head_object("meta", "bad")
    conn.post_object("meta", "o", {"X-Object-Meta-B": "2"})
    headers = conn.head_object("meta", "o")
    assert headers["x-object-meta-b"] == "2" and "x-object-meta-a" not in headers
    conn.copy_object("meta", "o", "/meta/copy")
    headers, copied = conn.get_object("meta", "copy")
    assert copied == body and headers["x-object-meta-b"] == "2"
    conn.put_object(
        "meta", "copy2", b"", headers={"X-Copy-From": "meta/o", "X-Fresh-Metadata": "true"}
    )
    assert "x-object-meta-b" not in conn.head_object("meta", "copy2")
    with pytest.raises(ClientException) as err:
        conn.put_object("meta", "x" * 1025, b"")
    assert err.value.http_status == 400
    with pytest.raises(ClientException) as err:
        conn.put_object("nope", "o", b"")
    assert err.value.http_status == 404
    conn.put_object("meta", "ünï/cödé", b"u", headers={"X-Object-Meta-K": "välue"})
    headers, body = conn.get_object("meta", "ünï/cödé")
    assert body == b"u" and headers["x-object-meta-k"] == "välue"
    assert "ünï/cödé" in [r["name"] for r in conn.get_container("meta")[1]]
    url, token = conn.get_auth()
    bad = urllib.request.Request(f"{url}/meta/%FF%FE", headers={"X-Auth-Token": token})
    with pytest.raises(urllib.error.HTTPError) as http_err:
        urllib.request.urlopen(bad)
    assert http_err.value.code == 412
    assert b"Invalid UTF8 or contains NULL" in http_err.value.read()


def test_three_replicas_in_distinct_zones_and_a_device_down(
    cloud: CloudProcess, conn: swift.Connection
) -> None:
    account = conn.get_auth()[0].rsplit("/", 1)[1]
    conn.put_container("dur")
    conn.put_object("dur", "first", b"one")
    files = data_files(cloud, account, "dur", "first")
    assert len(files) == 3 and len({f.parts[-6] for f in files}) == 3
    down = files[0].parents[4]
    parked = down.with_name(down.name + ".off")
    down.rename(parked)
    try:
        assert conn.get_object("dur", "first")[1] == b"one"  # another replica answers
        conn.put_object("dur", "second", b"two")  # quorum, a handoff in the down one's place
        assert conn.get_object("dur", "second")[1] == b"two"
        assert len(data_files(cloud, account, "dur", "second")) == 3
        _, rows = conn.get_container("dur")
        assert [r["name"] for r in rows] == ["first", "second"]
    finally:
        parked.rename(down)
    # the replicator moves the handoff's copy to the primary that was down
    rings = Rings.load(cloud.state_dir / "object_store" / "rings")
    part = rings.object.part(account, "dur", "second")
    primaries = sorted(n.device for n in rings.object.primaries(part))

    def on_primaries() -> bool:
        found = data_files(cloud, account, "dur", "second")
        return sorted(f.parts[-6] for f in found) == primaries

    wait_for(on_primaries)
    # a device that lost a partition gets it back from the other replicas
    lost = devices(cloud) / primaries[0] / "objects" / str(part)
    shutil.rmtree(lost)
    wait_for(on_primaries)
    assert conn.get_object("dur", "second")[1] == b"two"


def test_async_pending_when_a_container_replica_is_down(
    cloud: CloudProcess, conn: swift.Connection
) -> None:
    account = conn.get_auth()[0].rsplit("/", 1)[1]
    conn.put_container("pend")
    rings = Rings.load(cloud.state_dir / "object_store" / "rings")
    part, nodes = rings.container.nodes(account, "pend")
    victim = devices(cloud) / nodes[2].device
    name_hash = hash_path("", rings.container.suffix, account, "pend")
    db = victim / "containers" / str(part) / name_hash[-3:] / name_hash / f"{name_hash}.db"
    assert db.exists()
    parked = victim.with_name(victim.name + ".off")
    victim.rename(parked)
    try:
        conn.put_object("pend", "late", b"z")
        pending = [p for d in devices(cloud).iterdir() for p in (d / "async_pending").glob("*")]
        assert pending, "an object server kept the update it could not send"
    finally:
        parked.rename(victim)

    def caught_up() -> bool:
        with sqlite3.connect(db) as c:
            return bool(c.execute("SELECT count(*) FROM item WHERE name = 'late'").fetchone()[0])

    wait_for(caught_up)
    # a replica that lost its database gets it back, rows included, from the others
    shutil.rmtree(db.parent)
    wait_for(lambda: db.exists() and caught_up())


def test_container_acls(cloud: CloudProcess, conn: swift.Connection) -> None:
    cloud.osc("project", "create", "acl-proj")
    cloud.osc("user", "create", "acl-user", "--password", "secret-acl", "--project", "acl-proj")
    cloud.osc("role", "add", "--user", "acl-user", "--project", "acl-proj", "member")
    user_id = cloud.osc("user", "show", "acl-user")["id"]
    project_id = cloud.osc("project", "show", "acl-proj")["id"]
    other = swift.Connection(
        authurl=cloud.auth_url, user="acl-user", key="secret-acl", auth_version="3",
        os_options={"project_name": "acl-proj", "user_domain_name": "Default",
                    "project_domain_name": "Default"},
        retries=0,
    )  # fmt: skip
    url, _ = conn.get_auth()
    other_token = other.get_auth()[1]
    conn.put_container("shared")
    conn.put_object("shared", "doc", b"shared bytes")

    def as_other(method: str, path: str, body: bytes | None = None) -> int:
        headers = {"X-Auth-Token": other_token} if body is None else {
            "X-Auth-Token": other_token, "Content-Length": str(len(body))}  # fmt: skip
        target = f"{url}/{path}" if path else url
        req = urllib.request.Request(target, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    def anonymous(path: str) -> int:
        try:
            with urllib.request.urlopen(f"{url}/{path}") as resp:
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    assert as_other("GET", "shared/doc") == 403
    assert as_other("GET", "") == 403  # the account itself is the owner's only
    assert anonymous("shared/doc") == 401
    conn.post_container("shared", {"X-Container-Read": f"{project_id}:{user_id}"})
    assert as_other("GET", "shared/doc") == 200
    assert as_other("GET", "shared") == 200
    assert as_other("PUT", "shared/new", b"x") == 403
    head = urllib.request.Request(
        f"{url}/shared", method="HEAD", headers={"X-Auth-Token": other_token}
    )
    with urllib.request.urlopen(head) as resp:
        assert resp.headers.get("X-Container-Read") is None  # the ACLs are the owner's
    assert conn.head_container("shared")["x-container-read"] == f"{project_id}:{user_id}"
    conn.post_container("shared", {"X-Container-Write": f"{project_id}:*"})
    assert as_other("PUT", "shared/new", b"x") == 201
    assert as_other("DELETE", "shared") == 403  # containers stay the owner's
    conn.post_container("shared", {"X-Container-Read": ".r:*"})
    assert anonymous("shared/doc") == 200
    assert anonymous("shared") == 401  # no .rlistings
    conn.post_container("shared", {"X-Container-Read": ".r:*,.rlistings"})
    assert anonymous("shared") == 200


def test_expiring_objects(conn: swift.Connection) -> None:
    conn.put_container("exp")
    conn.put_object("exp", "soon", b"bye", headers={"X-Delete-After": "2"})
    conn.put_object("exp", "later", b"stay")
    conn.post_object("exp", "later", {"X-Delete-At": str(int(time.time()) + 2)})
    conn.put_object("exp", "kept", b"keep", headers={"X-Delete-After": "2"})
    conn.post_object("exp", "kept", {"X-Object-Meta-Fresh": "1"})  # a POST drops the expiry
    assert conn.get_object("exp", "soon")[1] == b"bye"
    assert "x-delete-at" in conn.head_object("exp", "later")
    for bad in ({"X-Delete-At": "1"}, {"X-Delete-At": "soon"}, {"X-Delete-After": "-1"}):
        with pytest.raises(ClientException) as err:
            conn.put_object("exp", "bad", b"", headers=bad)
        assert err.value.http_status == 400

    def gone() -> bool:
        try:
            conn.head_object("exp", "soon")
            return False
        except ClientException as exc:
            return bool(exc.http_status == 404)

    wait_for(gone)

    def listing_caught_up() -> bool:
        return [r["name"] for r in conn.get_container("exp")[1]] == ["kept"]

    wait_for(listing_caught_up)
    with pytest.raises(ClientException) as err:
        conn.get_object("exp", "later")
    assert err.value.http_status == 404
    assert conn.get_object("exp", "kept")[1] == b"keep"


def test_a_corrupt_replica_is_quarantined_and_restored(
    cloud: CloudProcess, conn: swift.Connection
) -> None:
    account = conn.get_auth()[0].rsplit("/", 1)[1]
    conn.put_container("audit")
    body = os.urandom(50_000)
    conn.put_object("audit", "obj", body)
    files = data_files(cloud, account, "audit", "obj")
    assert len(files) == 3
    victim = files[1]
    flipped = bytearray(victim.read_bytes())
    flipped[100] ^= 0xFF
    with open(victim, "r+b") as f:  # same inode: the xattr metadata stays
        f.write(flipped)
    device = victim.parents[4]

    def quarantined() -> bool:
        return any((device / "quarantined" / "objects").glob("*"))

    wait_for(quarantined)

    def restored() -> bool:
        found = data_files(cloud, account, "audit", "obj")
        return len(found) == 3 and all(f.read_bytes() == body for f in found)

    wait_for(restored)
    assert conn.get_object("audit", "obj")[1] == body


def test_container_quotas(conn: swift.Connection) -> None:
    conn.put_container("quota", headers={"X-Container-Meta-Quota-Bytes": "10",
                                         "X-Container-Meta-Quota-Count": "2"})  # fmt: skip
    conn.put_object("quota", "a", b"12345")
    with pytest.raises(ClientException) as err:
        conn.put_object("quota", "b", b"123456")
    assert err.value.http_status == 413
    conn.put_object("quota", "b", b"1")
    with pytest.raises(ClientException) as err:
        conn.put_object("quota", "c", b"")
    assert err.value.http_status == 413
    assert [r["name"] for r in conn.get_container("quota")[1]] == ["a", "b"]


def test_tempest_gaps_of_the_base_api(cloud: CloudProcess, conn: swift.Connection) -> None:
    """Storage policy headers, unquoted plain ETags, metadata removed with an empty value,
    what a COPY answers, and keystoneauth's ResellerAdmin on a foreign account."""
    conn.put_container("pol", headers={"X-Storage-Policy": "policy-0"})
    assert conn.head_container("pol")["x-storage-policy"] == "Policy-0"
    url, token = conn.get_auth()
    # a trailing slash names the account or the container
    for path, header in (("/", "X-Account-Container-Count"), ("/pol/", "X-Storage-Policy")):
        slashed = urllib.request.Request(url + path, method="HEAD", headers={"X-Auth-Token": token})
        with urllib.request.urlopen(slashed) as found:
            assert found.status == 204 and found.headers[header] is not None, path
    assert conn.get_container("pol")[0]["x-storage-policy"] == "Policy-0"
    with pytest.raises(ClientException) as err:
        conn.put_container("pol-bad", headers={"X-Storage-Policy": "gold"})
    assert (
        err.value.http_status == 400
        and "Invalid X-Storage-Policy" in err.value.http_response_content.decode()
    )
    with pytest.raises(ClientException):
        conn.head_container("pol-bad")
    conn.put_object("pol", "o", b"hello", headers={"X-Object-Meta-A": "1", "X-Object-Meta-B": "2"})
    account = conn.head_account()
    for usage in ("container-count", "object-count", "bytes-used"):
        assert (
            account[f"x-account-storage-policy-policy-0-{usage}"] == account[f"x-account-{usage}"]
        )
    plain = hashlib.md5(b"hello").hexdigest()
    assert conn.head_object("pol", "o")["etag"] == plain
    assert conn.get_object("pol", "o")[0]["etag"] == plain
    # an object's POST replaces its metadata: an empty value stays (empty), X-Remove-* is moot
    conn.post_object("pol", "o", {"X-Object-Meta-A": "", "X-Object-Meta-B": "3"})
    headers = conn.head_object("pol", "o")
    assert headers["x-object-meta-a"] == "" and headers["x-object-meta-b"] == "3"
    conn.post_container("pol", {"X-Container-Meta-K": "v", "X-Container-Meta-L": "w"})
    conn.post_container("pol", {"X-Container-Meta-K": "", "X-Remove-Container-Meta-L": "x"})
    assert not [k for k in conn.head_container("pol") if k.startswith("x-container-meta-")]
    conn.post_account({"X-Account-Meta-Gone": "v"})
    conn.post_account({"X-Account-Meta-Gone": ""})
    assert "x-account-meta-gone" not in conn.head_account()
    url, token = conn.get_auth()
    copy = urllib.request.Request(
        f"{url}/pol/o", method="COPY",
        headers={"X-Auth-Token": token, "Destination": "pol/o 2", "X-Object-Meta-C": "4",
                 "X-Object-Meta-D": ""},
    )  # fmt: skip
    with urllib.request.urlopen(copy) as resp:
        assert resp.status == 201 and resp.headers["Etag"] == plain
        assert resp.headers["X-Object-Meta-B"] == "3" and resp.headers["X-Object-Meta-C"] == "4"
        assert resp.headers["X-Object-Meta-D"] == "" and resp.headers["X-Object-Meta-A"] == ""
        assert resp.headers["X-Copied-From"] == "pol/o"  # quoted, as Swift's
        assert resp.headers["X-Copied-From-Account"] == url.rsplit("/", 1)[1]
        assert resp.headers["X-Copied-From-Last-Modified"]
    # keystoneauth's reseller_admin_role: the bootstrap made it; it may use any account
    cloud.osc("project", "create", "reseller-proj")
    cloud.osc("user", "create", "reseller", "--password", "secret-rs", "--project", "reseller-proj")
    cloud.osc("role", "add", "--user", "reseller", "--project", "reseller-proj", "ResellerAdmin")
    reseller = swift.Connection(
        authurl=cloud.auth_url, user="reseller", key="secret-rs", auth_version="3",
        os_options={"project_name": "reseller-proj", "user_domain_name": "Default",
                    "project_domain_name": "Default", "object_storage_url": url},
        retries=0,
    )  # fmt: skip
    assert reseller.get_object("pol", "o")[1] == b"hello"
    reseller.put_object("pol", "by-reseller", b"r")
    assert conn.head_object("pol", "by-reseller")["content-length"] == "1"


def _listeners(port: int) -> int:
    """Sockets listening on ``port`` (the proxy workers share it with SO_REUSEPORT)."""
    found = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":
                    found += 1
    return found


def test_container_changes_reach_every_proxy_worker(
    cloud: CloudProcess, conn: swift.Connection
) -> None:
    """With ``proxy_workers`` 2 (the default) the connections are spread over two
    processes; what one learnt of a container is dropped by both when one changes it,
    not trusted for the 10 s recheck (a fresh connection per request lands on either)."""
    port = cloud.ports["object_store"]
    deadline = time.monotonic() + 60
    while _listeners(port) < 2:
        assert time.monotonic() < deadline, "the second proxy worker never listened"
        time.sleep(0.2)
    url, token = conn.get_auth()

    def fresh(method: str, path: str, token: str | None = None) -> int:
        headers = {"X-Auth-Token": token} if token else {}
        data = b"x" if method == "PUT" else None
        req = urllib.request.Request(f"{url}/{path}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    conn.put_container("workers")
    conn.put_object("workers", "doc", b"bytes")
    for public in (True, False, True):
        assert {fresh("GET", "workers/doc") for _ in range(12)} == {200 if not public else 401}
        conn.post_container("workers", {"X-Container-Read": ".r:*" if public else ""})
        assert {fresh("GET", "workers/doc") for _ in range(12)} == {200 if public else 401}
    conn.delete_object("workers", "doc")
    assert {fresh("PUT", "workers/o", token) for _ in range(6)} == {201}
    conn.delete_object("workers", "o")
    conn.delete_container("workers")
    assert {fresh("PUT", "workers/o", token) for _ in range(12)} == {404}
