"""Object versioning on a real cloud (identity + object storage, one per module):
``X-Versions-Enabled`` (versions, ``?versions`` listings, ``version-id`` reads, deletes
and restores, delete markers, disable, the container delete refused while versions
remain) and the legacy ``X-Versions-Location`` / ``X-History-Location`` modes, through
python-swiftclient, the openstack CLI and raw HTTP where no client has a verb."""

from __future__ import annotations

import httpx
import pytest
from swiftclient import client as swift
from swiftclient.exceptions import ClientException

from tests.cloudproc import CloudProcess


def versions(conn: swift.Connection, container: str) -> list[tuple[str, str, bool, bytes]]:
    """(name, version id, is_latest, content) of each listed version."""
    _, rows = conn.get_container(container, query_string="versions")
    found = []
    for row in rows:
        data = b""
        if row["content_type"].startswith("application/x-deleted"):
            data = b"<marker>"
        elif row["is_latest"] or row["version_id"] != "null":
            query = f"version-id={row['version_id']}"
            data = conn.get_object(container, row["name"], query_string=query)[1]
        found.append((row["name"], row["version_id"], row["is_latest"], data))
    return found


def test_a_versioned_container_keeps_and_restores_versions(
    cloud: CloudProcess, conn: swift.Connection
) -> None:
    conn.put_container("docs")
    conn.put_object("docs", "a.txt", b"before versioning")  # a null version
    conn.post_container("docs", {"X-Versions-Enabled": "true"})
    assert conn.head_container("docs")["x-versions-enabled"] == "True"
    ids = []
    for text in (b"one", b"two"):
        reply: dict[str, object] = {}
        conn.put_object("docs", "a.txt", text, content_type="text/plain", response_dict=reply)
        ids.append(reply["headers"]["x-object-version-id"])  # type: ignore[index]
    head = conn.head_object("docs", "a.txt")
    assert head["x-object-version-id"] == ids[1] and head["content-type"] == "text/plain"
    listed = versions(conn, "docs")
    newest = [(v[1], v[2], v[3]) for v in listed][:2]
    assert newest == [(ids[1], True, b"two"), (ids[0], False, b"one")]
    assert listed[2][2:] == (False, b"before versioning") and listed[2][1] != "null"
    # the plain listing and the account show only what the user made
    assert [o["name"] for o in conn.get_container("docs")[1]] == ["a.txt"]
    assert [c["name"] for c in conn.get_account()[1]] == ["docs"]

    # DELETE writes a delete marker; the versions stay readable
    reply = {}
    conn.delete_object("docs", "a.txt", response_dict=reply)
    marker = reply["headers"]["x-object-version-id"]  # type: ignore[index]
    with pytest.raises(ClientException) as err:
        conn.get_object("docs", "a.txt")
    assert err.value.http_status == 404
    first = versions(conn, "docs")[0]
    assert first == ("a.txt", marker, True, b"<marker>")

    # restore: PUT ?version-id= makes an old version current again, keeping its id
    conn.put_object("docs", "a.txt", b"", query_string=f"version-id={ids[0]}")
    head, body = conn.get_object("docs", "a.txt")
    assert body == b"one" and head["x-object-version-id"] == ids[0]
    latest = [v for v in versions(conn, "docs") if v[2]]
    assert latest == [("a.txt", ids[0], True, b"one")]

    # restore by COPY of a version: a new version with that content
    url, token = conn.get_auth()
    copy_headers = {"X-Auth-Token": token, "Destination": "docs/a.txt"}
    copied = httpx.request("COPY", f"{url}/docs/a.txt?version-id={ids[1]}", headers=copy_headers)
    assert copied.status_code == 201, copied.text
    assert conn.get_object("docs", "a.txt")[1] == b"two"
    assert copied.headers["x-object-version-id"] not in ids

    # DELETE ?version-id= removes one version, no marker
    gone = httpx.delete(f"{url}/docs/a.txt?version-id={ids[1]}", headers={"X-Auth-Token": token})
    assert gone.status_code == 204 and gone.headers["x-object-version-id"] == ids[1]
    assert ids[1] not in [v[1] for v in versions(conn, "docs")]
    missing = httpx.get(f"{url}/docs/a.txt?version-id={ids[1]}", headers={"X-Auth-Token": token})
    assert missing.status_code == 404
    bad = httpx.get(f"{url}/docs/a.txt?version-id=yesterday", headers={"X-Auth-Token": token})
    assert bad.status_code == 400 and "Invalid version parameter" in bad.text
    post = httpx.post(f"{url}/docs/a.txt?version-id={ids[0]}", headers={"X-Auth-Token": token})
    assert post.status_code == 400

    # a container with versions cannot be deleted, as Swift refuses it
    deleted = cloud.osc_raw("container", "delete", "--recursive", "docs")
    assert deleted.returncode != 0
    with pytest.raises(ClientException) as err:
        conn.delete_container("docs")
    assert err.value.http_status == 409
    assert "Delete all versions" in err.value.http_response_content.decode()


def test_disabled_versioning_keeps_old_versions_and_writes_null_ones(
    conn: swift.Connection,
) -> None:
    conn.put_container("paused", {"X-Versions-Enabled": "true"})
    conn.put_object("paused", "o", b"v1")
    conn.put_object("paused", "o", b"v2")
    conn.post_container("paused", {"X-Versions-Enabled": "false"})
    assert conn.head_container("paused")["x-versions-enabled"] == "False"
    conn.put_object("paused", "o", b"unversioned")
    head = conn.head_object("paused", "o")
    assert head["x-object-version-id"] == "null"
    listed = versions(conn, "paused")
    assert [(v[1] == "null", v[2], v[3]) for v in listed] == [
        (True, True, b"unversioned"), (False, False, b"v2"), (False, False, b"v1")
    ]  # fmt: skip
    conn.delete_object("paused", "o")  # no marker while disabled
    assert len(versions(conn, "paused")) == 2
    # deleting every version lets the container go
    for _, version_id, _, _ in versions(conn, "paused"):
        conn.delete_object("paused", "o", query_string=f"version-id={version_id}")
    assert versions(conn, "paused") == []
    conn.delete_container("paused")
    assert "paused" not in [c["name"] for c in conn.get_account()[1]]


def test_legacy_stack_and_history_modes(conn: swift.Connection) -> None:
    conn.put_container("archive")
    conn.put_container("stack", {"X-Versions-Location": "archive"})
    assert conn.head_container("stack")["x-versions-location"] == "archive"
    for n in range(3):
        conn.put_object("stack", "obj", f"v{n}".encode())
    archived = [o["name"] for o in conn.get_container("archive")[1]]
    assert len(archived) == 2 and all(n.startswith("003obj/") for n in archived)
    # each DELETE pops the newest archived version back
    conn.delete_object("stack", "obj")
    assert conn.get_object("stack", "obj")[1] == b"v1"
    conn.delete_object("stack", "obj")
    assert conn.get_object("stack", "obj")[1] == b"v0"
    conn.delete_object("stack", "obj")
    with pytest.raises(ClientException):
        conn.get_object("stack", "obj")
    assert conn.get_container("archive")[1] == []

    conn.put_container("hist", {"X-History-Location": "archive"})
    conn.put_object("hist", "h", b"one")
    conn.put_object("hist", "h", b"two")
    conn.delete_object("hist", "h")
    kept = conn.get_container("archive", prefix="001h/")[1]
    assert [o["content_type"] for o in kept][-1] == "application/x-deleted;swift_versions_deleted=1"
    assert [conn.get_object("archive", o["name"])[1] for o in kept[:2]] == [b"one", b"two"]
    with pytest.raises(ClientException) as err:
        conn.post_container("hist", {"X-Versions-Location": "a", "X-History-Location": "b"})
    assert err.value.http_status == 400
    with pytest.raises(ClientException) as err:  # the new mode refuses a legacy container
        conn.post_container("hist", {"X-Versions-Enabled": "true"})
    assert err.value.http_status == 400
    conn.post_container("hist", {"X-Remove-History-Location": "x"})
    assert "x-history-location" not in conn.head_container("hist")
    # a missing archive container fails the overwrite (412), the object stays
    conn.put_container("orphan", {"X-Versions-Location": "nowhere"})
    conn.put_object("orphan", "x", b"first")
    with pytest.raises(ClientException) as err:
        conn.put_object("orphan", "x", b"second")
    assert err.value.http_status == 412
    assert conn.get_object("orphan", "x")[1] == b"first"
