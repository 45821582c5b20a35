"""Large objects, symlinks and bulk requests on a real cloud (identity + object storage,
one per module, 1 replica to keep it quick): `swift upload --segment-size` with DLO and
SLO, downloads compared by checksum, ranges across segment boundaries, nested SLOs and
the manifest refusals, symlinks (dynamic and static), bulk delete and extract-archive
incl. path traversal, links in the tar and a tar bomb."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tarfile
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.cloudproc import CloudProcess
from tests.object_store.conftest import connect, swift_cli

CLOUD_CONF = "[object_store]\ndefault_devices = 1\nreplicas = 1\n"
MiB = 1024 * 1024


class Swift:
    """Plain HTTP to the account (what each feature's wire format looks like)."""

    def __init__(self, cloud: CloudProcess) -> None:
        self.url, self.token = connect(cloud).get_auth()
        self.http = requests.Session()

    def __call__(self, method: str, path: str = "", **kw: Any) -> requests.Response:
        headers = {"X-Auth-Token": self.token, **kw.pop("headers", {})}
        return self.http.request(method, self.url + path, headers=headers, **kw)

    def put(self, path: str, data: bytes = b"", **kw: Any) -> requests.Response:
        reply = self("PUT", path, data=data, **kw)
        assert reply.status_code in (201, 202), (path, reply.status_code, reply.text)
        return reply


@pytest.fixture(scope="module")
def sw(cloud: CloudProcess) -> Swift:
    return Swift(cloud)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.mark.parametrize("slo", [False, True], ids=["dlo", "slo"])
def test_swift_cli_segmented_upload(
    cloud: CloudProcess, sw: Swift, tmp_path: Path, slo: bool
) -> None:
    payload = os.urandom(5 * MiB + 12345)
    (tmp_path / "big.bin").write_bytes(payload)
    container = "cli-slo" if slo else "cli-dlo"
    args = ["upload", "--segment-size", "1M", "--use-slo" if slo else "--use-dlo", container]
    swift_cli(cloud, *args, "big.bin", cwd=tmp_path)
    head = sw("HEAD", f"/{container}/big.bin")
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(payload)
    if slo:
        assert head.headers["X-Static-Large-Object"] == "True"
    else:
        assert head.headers["X-Object-Manifest"].startswith(f"{container}_segments/")
    etag = head.headers["Etag"].strip('"')
    segments = sw("GET", f"/{container}_segments", params={"format": "json"}).json()
    assert len(segments) == 6
    assert etag == md5("".join(s["hash"] for s in segments).encode())
    down = tmp_path / "down"
    down.mkdir()
    swift_cli(cloud, "download", container, "big.bin", cwd=down)
    assert md5((down / "big.bin").read_bytes()) == md5(payload)
    # a range across the first segment boundary, a suffix, and several ranges at once
    part = sw("GET", f"/{container}/big.bin", headers={"Range": f"bytes={MiB - 10}-{MiB + 9}"})
    assert part.status_code == 206 and part.content == payload[MiB - 10 : MiB + 10]
    assert part.headers["Content-Range"] == f"bytes {MiB - 10}-{MiB + 9}/{len(payload)}"
    tail = sw("GET", f"/{container}/big.bin", headers={"Range": "bytes=-100"})
    assert tail.content == payload[-100:]
    multi = sw(
        "GET", f"/{container}/big.bin", headers={"Range": f"bytes=0-4,{2 * MiB}-{2 * MiB + 4}"}
    )
    assert multi.status_code == 206
    assert multi.headers["Content-Type"].startswith("multipart/byteranges")
    assert payload[:5] in multi.content and payload[2 * MiB : 2 * MiB + 5] in multi.content
    over = sw("GET", f"/{container}/big.bin", headers={"Range": f"bytes={len(payload)}-"})
    assert over.status_code == 416
    assert (
        sw("GET", f"/{container}/big.bin", headers={"If-None-Match": f'"{etag}"'}).status_code
        == 304
    )
    assert sw("GET", f"/{container}/big.bin", headers={"If-Match": '"nope"'}).status_code == 412
    manifest = sw("GET", f"/{container}/big.bin", params={"multipart-manifest": "get"})
    if slo:
        assert [s["bytes"] for s in manifest.json()][:1] == [MiB]
        listing = sw("GET", f"/{container}", params={"format": "json"}).json()
        assert listing[0]["bytes"] == len(payload) and listing[0]["slo_etag"] == f'"{etag}"'
    else:
        assert manifest.content == b""
    swift_cli(cloud, "delete", container, "big.bin", cwd=tmp_path)
    assert sw("GET", f"/{container}_segments", params={"format": "json"}).json() == []
    assert sw("HEAD", f"/{container}/big.bin").status_code == 404


def test_slo_manifests(sw: Swift) -> None:
    sw.put("/seg")
    parts = [os.urandom(1000), os.urandom(2000), os.urandom(3000)]
    for i, data in enumerate(parts):
        sw.put(f"/seg/p{i}", data)
    manifest = [
        {"path": "/seg/p0", "etag": md5(parts[0]), "size_bytes": 1000},
        {"path": "/seg/p1", "range": "100-199"},
        {"data": base64.b64encode(b"inline!").decode()},
        {"path": "seg/p2", "etag": None, "size_bytes": None},
    ]
    put = sw.put("/seg/big", json.dumps(manifest).encode(), params={"multipart-manifest": "put"})
    whole = parts[0] + parts[1][100:200] + b"inline!" + parts[2]
    assert sw("GET", "/seg/big").content == whole
    outer = [{"path": "/seg/big"}, {"path": "/seg/p0", "range": "-10"}]
    sw.put("/seg/nested", json.dumps(outer).encode(), params={"multipart-manifest": "put"})
    nested = whole + parts[0][-10:]
    got = sw("GET", "/seg/nested")
    assert got.content == nested and int(got.headers["Content-Length"]) == len(nested)
    span = sw("GET", "/seg/nested", headers={"Range": "bytes=995-1105"})
    assert span.content == nested[995:1106]
    raw = sw("GET", "/seg/nested", params={"multipart-manifest": "get", "format": "raw"}).json()
    assert raw[0]["path"] == "/seg/big" and raw[0]["etag"] == put.headers["Etag"].strip('"')
    # COPY makes a plain object of the whole large object, unless the manifest is asked for
    sw("COPY", "/seg/nested", headers={"Destination": "seg/flat"})
    flat = sw("HEAD", "/seg/flat")
    assert "X-Static-Large-Object" not in flat.headers
    assert sw("GET", "/seg/flat").content == nested
    sw(
        "COPY",
        "/seg/big",
        params={"multipart-manifest": "get"},
        headers={"Destination": "seg/twin"},
    )
    assert sw("HEAD", "/seg/twin").headers["X-Static-Large-Object"] == "True"
    # refusals: missing segment, wrong etag and size, bad JSON, reserved header
    bad = [{"path": "/seg/nothere"}, {"path": "/seg/p0", "etag": "0" * 32, "size_bytes": 7}]
    refused = sw("PUT", "/seg/bad", data=json.dumps(bad), params={"multipart-manifest": "put"})
    assert refused.status_code == 400
    assert refused.text.splitlines() == [
        "Errors:",
        "/seg/nothere, 404 Not Found",
        "/seg/p0, Size Mismatch",
        "/seg/p0, Etag Mismatch",
    ]
    as_json = sw("PUT", "/seg/bad", data=json.dumps(bad), params={"multipart-manifest": "put"},
                 headers={"Accept": "application/json"})  # fmt: skip
    assert as_json.json()["Errors"][0] == ["/seg/nothere", "404 Not Found"]
    for body, text in [
        (b"{", "Manifest must be valid JSON.\n"),
        (b"{}", "Manifest must be a list.\n"),
        (b'[{"path": "nocontainer"}]', "Index 0: path does not refer to an object"),
    ]:
        reply = sw("PUT", "/seg/bad", data=body, params={"multipart-manifest": "put"})
        assert reply.status_code == 400 and reply.text.startswith(text), reply.text
    too_many = json.dumps([{"path": "/seg/p0"}] * 1001)
    assert (
        sw("PUT", "/seg/bad", data=too_many, params={"multipart-manifest": "put"}).status_code
        == 413
    )
    reserved = sw("PUT", "/seg/bad", data=b"x", headers={"X-Static-Large-Object": "True"})
    assert reserved.status_code == 400 and "reserved header" in reserved.text
    assert sw("HEAD", "/seg/bad").status_code == 404
    # a segment deleted behind the manifest's back: 409 at once (it is the first)
    sw("DELETE", "/seg/p0")
    assert sw("GET", "/seg/big").status_code == 409
    # multipart-manifest=delete: segments then the manifest, as bulk delete answers
    sw.put("/seg/p0", parts[0])
    gone = sw("DELETE", "/seg/nested", params={"multipart-manifest": "delete"},
              headers={"Accept": "application/json"}).json()  # fmt: skip
    # p0 is named twice (in big and in nested): deleted once, then not found
    assert gone["Response Status"] == "200 OK" and gone["Number Deleted"] == 5, gone
    assert gone["Number Not Found"] == 1 and sw("HEAD", "/seg/p1").status_code == 404
    plain = sw("DELETE", "/seg/flat", params={"multipart-manifest": "delete"})
    assert "Not an SLO manifest" in plain.text and "400 Bad Request" in plain.text


def test_dlo_manifest_header(sw: Swift) -> None:
    sw.put("/dlo")
    for i in range(3):
        sw.put(f"/dlo/parts/{i:02d}", bytes([65 + i]) * 10)
    sw.put("/dlo/whole", headers={"X-Object-Manifest": "dlo/parts/"})
    assert sw("GET", "/dlo/whole").content == b"A" * 10 + b"B" * 10 + b"C" * 10
    assert sw("GET", "/dlo/whole", headers={"Range": "bytes=8-11"}).content == b"AABB"
    bad = sw("PUT", "/dlo/bad", headers={"X-Object-Manifest": "noprefix"})
    assert bad.status_code == 400
    assert bad.text == "X-Object-Manifest must be in the format container/prefix"


def test_symlinks(sw: Swift) -> None:
    sw.put("/links")
    sw.put("/links/target", b"hello world")
    sw.put("/links/link", headers={"X-Symlink-Target": "links/target"})
    got = sw("GET", "/links/link")
    assert got.content == b"hello world"
    assert got.headers["Content-Location"].endswith("/links/target")
    itself = sw("HEAD", "/links/link", params={"symlink": "get"})
    assert itself.headers["X-Symlink-Target"] == "links/target"
    assert itself.headers["Content-Type"] == "application/symlink"
    sw.put("/links/link2", headers={"X-Symlink-Target": "links/link"})
    sw.put("/links/link3", headers={"X-Symlink-Target": "links/link2"})
    assert sw("GET", "/links/link2").content == b"hello world"
    # COPY copies the target, or with ?symlink=get the link itself
    sw("COPY", "/links/link", headers={"Destination": "links/copied"})
    assert "X-Symlink-Target" not in sw("HEAD", "/links/copied", params={"symlink": "get"}).headers
    sw("COPY", "/links/link", params={"symlink": "get"}, headers={"Destination": "links/relink"})
    relink = sw("HEAD", "/links/relink", params={"symlink": "get"})
    assert relink.headers["X-Symlink-Target"] == "links/target"
    loop = sw("GET", "/links/link3")
    assert loop.status_code == 409
    assert loop.text == "Too many levels of symbolic links, maximum allowed is 2"
    etag = md5(b"hello world")
    sw.put("/links/static", headers={"X-Symlink-Target": "links/target",
                                     "X-Symlink-Target-Etag": etag})  # fmt: skip
    mismatch = sw("PUT", "/links/s2", headers={"X-Symlink-Target": "links/target",
                                                "X-Symlink-Target-Etag": "0" * 32})  # fmt: skip
    assert mismatch.status_code == 409 and "does not match" in mismatch.text
    missing = sw("PUT", "/links/s3", headers={"X-Symlink-Target": "links/gone",
                                               "X-Symlink-Target-Etag": etag})  # fmt: skip
    assert missing.status_code == 409 and missing.text == "X-Symlink-Target does not exist"
    assert sw("PUT", "/links/s4", headers={"X-Symlink-Target": "nocontainer"}).status_code == 412
    assert (
        sw("PUT", "/links/s4", data=b"x", headers={"X-Symlink-Target": "links/target"}).status_code
        == 400
    )
    rows = {r["name"]: r for r in sw("GET", "/links", params={"format": "json"}).json()}
    account = urllib.parse.urlparse(sw.url).path.split("/")[2]
    assert rows["link"]["symlink_path"] == f"/v1/{account}/links/target"
    assert rows["static"]["symlink_etag"] == etag and rows["static"]["symlink_bytes"] == 11
    assert rows["link"]["hash"] == md5(b"")
    # the target changes: the static link refuses, the dynamic one follows
    sw.put("/links/target", b"changed")
    assert sw("GET", "/links/static").status_code == 409
    assert sw("GET", "/links/link").content == b"changed"
    posted = sw("POST", "/links/link", headers={"X-Object-Meta-A": "b"}, allow_redirects=False)
    assert posted.status_code == 307 and posted.headers["Location"].endswith("/links/target")
    sw("DELETE", "/links/target")
    dangling = sw("GET", "/links/link")
    assert dangling.status_code == 404 and dangling.headers["Content-Location"].endswith("/target")


def _tar(
    files: dict[str, bytes], gz: bool = True, extra: tuple[tarfile.TarInfo, ...] = ()
) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz" if gz else "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info)
    return out.getvalue()


def test_bulk_extract_and_delete(sw: Swift) -> None:
    files = {"ex1/a.txt": b"a" * 100, "ex1/dir/b.txt": b"b" * 200, "ex2/c.bin": os.urandom(3000),
             "toplevel.txt": b"skipped"}  # fmt: skip
    # at /v1/<account>/ (with the slash, as Tempest's bulk client sends it)
    reply = sw("PUT", "/", params={"extract-archive": "tar.gz"}, data=_tar(files),
               headers={"Accept": "application/json"})  # fmt: skip
    assert reply.status_code == 200
    body = reply.json()
    assert body["Number Files Created"] == 3 and body["Response Status"] == "201 Created", body
    assert sw("GET", "/ex1/dir/b.txt").content == b"b" * 200
    # any listing format Swift does not know is plain text
    assert {"ex1", "ex2"} <= set(sw("GET", "/", params={"format": "txt"}).text.split())
    into = sw(
        "PUT", "/ex2", params={"extract-archive": "tar"}, data=_tar({"d/e.txt": b"e"}, gz=False)
    )
    assert "Number Files Created: 1" in into.text
    assert sw("GET", "/ex2/d/e.txt").content == b"e"
    # unsafe archives are refused whole: nothing of them is created
    link = tarfile.TarInfo("ex3/link")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    for bad in (_tar({"ex3/../../etc/x": b"x"}), _tar({"/ex3/abs": b"x"}),
                _tar({"ex3/ok": b"x"}, extra=(link,))):  # fmt: skip
        refused = sw("PUT", "", params={"extract-archive": "tar.gz"}, data=bad,
                     headers={"Accept": "application/json"}).json()  # fmt: skip
        assert refused["Response Status"] == "400 Bad Request" and refused["Errors"], refused
    assert sw("HEAD", "/ex3").status_code == 404
    # a bomb: a member that claims gigabytes of zeros in a few kilobytes of gzip
    bomb = io.BytesIO()
    with tarfile.open(fileobj=bomb, mode="w:gz") as tar:
        info = tarfile.TarInfo("ex4/zeros")
        info.size = 64 * MiB
        tar.addfile(info, io.BytesIO(bytes(info.size)))
    refused_bomb = sw("PUT", "", params={"extract-archive": "tar.gz"}, data=bomb.getvalue())
    assert "Response Status: 400 Bad Request" in refused_bomb.text
    assert "compression ratio" in refused_bomb.text
    garbage = sw("PUT", "", params={"extract-archive": "tar.gz"}, data=b"not a tar")
    assert "Invalid Tar File" in garbage.text
    assert sw("HEAD", "/ex4").status_code == 404
    assert sw("PUT", "", params={"extract-archive": "zip"}, data=b"x").status_code == 400
    # bulk delete: objects first, then the (now empty) containers
    names = ["/ex1/a.txt", "/ex1/dir/b.txt", "/ex1", "/ex1/missing", "/ex2"]
    body = "\n".join(urllib.parse.quote(n) for n in names)
    plain_json = {"Content-Type": "text/plain", "Accept": "application/json"}
    deleted = sw("POST", "", params={"bulk-delete": ""}, data=body, headers=plain_json).json()
    assert deleted["Number Deleted"] == 3 and deleted["Number Not Found"] == 1, deleted
    assert deleted["Errors"] == [["/ex2", "409 Conflict"]]
    assert deleted["Response Status"] == "400 Bad Request"
    text = sw("DELETE", "", params={"bulk-delete": ""}, data="/ex2/c.bin\n/ex2/d/e.txt\n/ex2")
    assert text.text.splitlines()[:2] == ["Number Deleted: 3", "Number Not Found: 0"]
    assert sw("HEAD", "/ex2").status_code == 404
    too_many = "\n".join(f"/c/{i}" for i in range(10001))
    over = sw("POST", "", params={"bulk-delete": ""}, data=too_many)
    assert "413 Request Entity Too Large" in over.text


def test_info_advertises_the_features(sw: Swift) -> None:
    info = requests.get(sw.url.split("/v1/")[0] + "/info").json()
    assert info["slo"]["max_manifest_segments"] == 1000
    assert info["slo"]["max_manifest_size"] == 8 * MiB
    assert info["symlink"] == {"symloop_max": 2, "static_links": True}
    assert info["bulk_delete"]["max_deletes_per_request"] == 10000
    assert "bulk_upload" in info
