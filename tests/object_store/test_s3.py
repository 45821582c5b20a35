"""The S3 API on a real cloud (identity + object storage, one per module) with keys from
`openstack ec2 credentials create`: the aws CLI (mb/cp/ls/sync/rm, a 64 MiB multipart
upload, a presigned GET without credentials, DeleteObjects), boto3 with its default
checksums, hand-signed aws-chunked bodies (per-chunk and trailer signatures, trailing
checksums), virtual-hosted addressing, bad input (signatures, XML), and the same objects
through the Swift API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import io
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from swiftclient import client as swift

from tests.cloudproc import BIN, CloudProcess

REGION = "us-east-1"


CLOUD_CONF = "[object_store]\nreplicas = 1\ndefault_devices = 1\n"


@pytest.fixture(scope="module")
def keys(cloud: CloudProcess) -> tuple[str, str]:
    created = cloud.osc("ec2", "credentials", "create")
    return str(created["access"]), str(created["secret"])


@pytest.fixture(scope="module")
def endpoint(cloud: CloudProcess) -> str:
    return f"http://127.0.0.1:{cloud.ports['object_store']}"


@pytest.fixture(scope="module")
def s3(endpoint: str, keys: tuple[str, str]) -> object:
    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=keys[0], aws_secret_access_key=keys[1],
        region_name=REGION, config=Config(retries={"max_attempts": 0}),
    )  # fmt: skip


def aws(cloud: CloudProcess, endpoint: str, keys: tuple[str, str], *args: str,
        cwd: Path | None = None) -> str:  # fmt: skip
    env = {**cloud.env, "AWS_ACCESS_KEY_ID": keys[0], "AWS_SECRET_ACCESS_KEY": keys[1],
           "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": "/dev/null",
           "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip
    result = subprocess.run(
        [str(BIN / "aws"), "--endpoint-url", endpoint, *args], env=env, cwd=cwd,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def send(endpoint: str, method: str, path: str, body: bytes = b"",
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    host = endpoint.removeprefix("http://")
    conn = http.client.HTTPConnection(host, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def signed(endpoint: str, keys: tuple[str, str], method: str, path: str, body: bytes = b"",
           headers: dict[str, str] | None = None, host: str = "") -> tuple[int, bytes]:  # fmt: skip
    """A request signed by botocore's SigV4 (``host``: another Host header)."""
    url = (f"http://{host}" if host else endpoint) + path
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    request.headers["Host"] = host or endpoint.removeprefix("http://")
    request.headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
    S3SigV4Auth(Credentials(*keys), "s3", REGION).add_auth(request)
    sent = {k: str(v) for k, v in request.headers.items()}
    status, _, answer = send(endpoint, method, path, body, sent)
    return status, answer


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def chunked_put(endpoint: str, keys: tuple[str, str], path: str, data: bytes, *,
                trailer: bool = False, signed_chunks: bool = True, corrupt: str = "",
                chunk: int = 65536) -> tuple[int, bytes]:  # fmt: skip
    """PUT ``data`` as aws-chunked, signed here (independently of the server's code):
    STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] or STREAMING-UNSIGNED-PAYLOAD-TRAILER,
    with a CRC32 trailer; ``corrupt``: "chunk" (a bad chunk signature) or "crc"."""
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    scope = f"{amz_date[:8]}/{REGION}/s3/aws4_request"
    if signed_chunks:
        mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" + ("-TRAILER" if trailer else "")
    else:
        mode = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    host = endpoint.removeprefix("http://")
    headers = {"host": host, "x-amz-content-sha256": mode, "x-amz-date": amz_date,
               "x-amz-decoded-content-length": str(len(data))}  # fmt: skip
    if trailer:
        headers["x-amz-trailer"] = "x-amz-checksum-crc32"
    names = sorted(headers)
    canonical = "\n".join(["PUT", path, "", "".join(f"{n}:{headers[n]}\n" for n in names),
                           ";".join(names), mode])  # fmt: skip
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])  # fmt: skip
    key = ("AWS4" + keys[1]).encode()
    for part in scope.split("/"):
        key = _hmac(key, part)
    previous = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={keys[0]}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={previous}"
    )
    body = b""
    empty = hashlib.sha256(b"").hexdigest()
    for start in [*range(0, len(data), chunk), len(data)]:
        piece = data[start : start + chunk]
        if not signed_chunks:
            body += b"%x\r\n%s" % (len(piece), piece) + (b"\r\n" if piece else b"")
            continue
        text = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous, empty,
                          hashlib.sha256(piece).hexdigest()])  # fmt: skip
        previous = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
        sig = "0" * 64 if corrupt == "chunk" and start == 0 else previous
        body += b"%x;chunk-signature=%s\r\n%s" % (len(piece), sig.encode(), piece)
        body += b"\r\n" if piece else b""
    if trailer:
        crc = zlib.crc32(data if corrupt != "crc" else data + b"x")
        line = f"x-amz-checksum-crc32:{base64.b64encode(crc.to_bytes(4, 'big')).decode()}"
        body += line.encode() + b"\r\n"
        if signed_chunks:
            text = "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, previous,
                              hashlib.sha256((line + "\n").encode()).hexdigest()])  # fmt: skip
            sig = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
            body += f"x-amz-trailer-signature:{sig}\r\n".encode()
    body += b"\r\n"
    headers["content-encoding"] = "aws-chunked"
    headers["content-length"] = str(len(body))
    status, _, answer = send(endpoint, "PUT", path, body, headers)
    return status, answer


# -- the aws CLI --------------------------------------------------------------------------------
def test_aws_cli(cloud: CloudProcess, endpoint: str, keys: tuple[str, str], tmp_path: Path,
                 conn: swift.Connection) -> None:  # fmt: skip
    def run(*args: str) -> str:
        return aws(cloud, endpoint, keys, *args)

    run("s3", "mb", "s3://cli")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_bytes(b"alpha" * 100)
    (tree / "sub" / "b.bin").write_bytes(os.urandom(5000))
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(64 * 1024 * 1024))
    run("s3", "sync", str(tree), "s3://cli/tree")
    run("s3", "cp", str(big), "s3://cli/big.bin")  # multipart: 8 MiB parts
    listed = run("s3", "ls", "--recursive", "s3://cli")
    assert "tree/a.txt" in listed and "tree/sub/b.bin" in listed
    assert f"{64 * 1024 * 1024} big.bin" in listed
    head = run("s3api", "head-object", "--bucket", "cli", "--key", "big.bin")
    assert '-8\\""' in head  # the multipart ETag: md5 of the parts' md5s, 8 parts
    back = tmp_path / "back.bin"
    run("s3", "cp", "s3://cli/big.bin", str(back))
    assert hashlib.md5(back.read_bytes()).digest() == hashlib.md5(big.read_bytes()).digest()
    # the same object through Swift: its listing row has the whole size
    rows = {o["name"]: o for o in conn.get_container("cli")[1]}
    assert rows["big.bin"]["bytes"] == 64 * 1024 * 1024
    url = run("s3", "presign", "s3://cli/tree/a.txt", "--expires-in", "300").strip()
    with urllib.request.urlopen(url) as answer:  # no credentials: the URL is the signature
        assert answer.read() == b"alpha" * 100
    deleted = run("s3api", "delete-objects", "--bucket", "cli", "--delete",
                  '{"Objects":[{"Key":"tree/a.txt"},{"Key":"tree/sub/b.bin"}]}')  # fmt: skip
    assert "tree/a.txt" in deleted and "tree/sub/b.bin" in deleted
    run("s3", "rm", "s3://cli/big.bin")
    # the parts went with the object. A marker (``<key>/<upload id>``) may stay: an upload the
    # CLI began again after a 5xx under load (its retries) is one in progress, which S3 lists
    # and aborts like any other
    left = [o["name"] for o in conn.get_container("cli+segments")[1]]
    assert all(name.count("/") == 1 for name in left), (left, cloud.log_warnings())
    listing = json.loads(run("s3api", "list-multipart-uploads", "--bucket", "cli") or "{}")
    uploads = [(u["Key"], u["UploadId"]) for u in listing.get("Uploads", [])]
    assert sorted(f"{key}/{upload}" for key, upload in uploads) == left, cloud.log_warnings()
    for key, upload in uploads:
        run("s3api", "abort-multipart-upload", "--bucket", "cli", "--key", key,
            "--upload-id", upload)  # fmt: skip
    assert conn.get_container("cli+segments")[1] == []
    assert [o["name"] for o in conn.get_container("cli")[1]] == []
    run("s3", "rb", "s3://cli")


# -- boto3 with its default checksums -------------------------------------------------------------
def test_boto3(s3: object, conn: swift.Connection) -> None:
    c: Any = s3
    c.create_bucket(Bucket="boto")
    put = c.put_object(Bucket="boto", Key="dir/a b+c.txt", Body=b"0123456789" * 100,
                       Metadata={"Color": "blue"}, ContentType="text/plain")  # fmt: skip
    assert put["ETag"] == f'"{hashlib.md5(b"0123456789" * 100).hexdigest()}"'
    assert "ChecksumCRC32" in put  # the SDK sent one by default; it was checked and echoed
    got = c.get_object(Bucket="boto", Key="dir/a b+c.txt", Range="bytes=10-19")
    assert got["ContentRange"] == "bytes 10-19/1000" and got["Body"].read() == b"0123456789"
    assert got["Metadata"] == {"color": "blue"} and got["ContentType"] == "text/plain"
    payload = os.urandom(12 * 1024 * 1024)
    c.upload_fileobj(io.BytesIO(payload), "boto", "up.bin")  # 8 MiB parts
    assert c.get_object(Bucket="boto", Key="up.bin")["Body"].read() == payload
    tail = c.get_object(Bucket="boto", Key="up.bin", Range="bytes=-100")["Body"].read()
    assert tail == payload[-100:]
    span = c.get_object(Bucket="boto", Key="up.bin", Range="bytes=8388600-8388700")
    assert span["Body"].read() == payload[8388600:8388701]  # across the parts
    copied = c.copy_object(Bucket="boto", Key="copy.txt",
                           CopySource={"Bucket": "boto", "Key": "dir/a b+c.txt"})  # fmt: skip
    assert copied["CopyObjectResult"]["ETag"] == put["ETag"]
    assert c.head_object(Bucket="boto", Key="copy.txt")["Metadata"] == {"color": "blue"}
    c.copy_object(Bucket="boto", Key="copy.txt", CopySource="boto/copy.txt",
                  MetadataDirective="REPLACE", Metadata={"k": "v"})  # fmt: skip
    assert c.head_object(Bucket="boto", Key="copy.txt")["Metadata"] == {"k": "v"}
    for i in range(7):
        c.put_object(Bucket="boto", Key=f"page/{i}", Body=b"x")
    keys: list[str] = []
    pages = c.get_paginator("list_objects_v2").paginate(
        Bucket="boto", Prefix="page/", PaginationConfig={"PageSize": 3}
    )
    for page in pages:
        keys += [o["Key"] for o in page.get("Contents", [])]
    assert keys == [f"page/{i}" for i in range(7)]
    top = c.list_objects_v2(Bucket="boto", Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["dir/", "page/"]
    assert sorted(o["Key"] for o in top["Contents"]) == ["copy.txt", "up.bin"]
    assert next(o for o in top["Contents"] if o["Key"] == "up.bin")["Size"] == len(payload)
    gone = c.delete_objects(
        Bucket="boto", Delete={"Objects": [{"Key": f"page/{i}"} for i in range(7)], "Quiet": True}
    )
    assert (
        "Errors" not in gone and c.list_objects_v2(Bucket="boto", Prefix="page/")["KeyCount"] == 0
    )
    # conditions
    with pytest.raises(ClientError) as err:
        c.get_object(Bucket="boto", Key="copy.txt", IfMatch='"nope"')
    assert err.value.response["Error"]["Code"] == "PreconditionFailed"
    etag = c.head_object(Bucket="boto", Key="copy.txt")["ETag"]
    with pytest.raises(ClientError) as err:
        c.get_object(Bucket="boto", Key="copy.txt", IfNoneMatch=etag)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    # ACLs: canned public-read is Swift's .r:* read ACL
    c.put_bucket_acl(Bucket="boto", ACL="public-read")
    assert ".r:*" in conn.head_container("boto")["x-container-read"]
    grants = c.get_bucket_acl(Bucket="boto")["Grants"]
    assert {g["Permission"] for g in grants} == {"FULL_CONTROL", "READ"}
    assert c.get_bucket_location(Bucket="boto")["LocationConstraint"] is None


def test_multipart_api(s3: object, conn: swift.Connection) -> None:
    c: Any = s3
    c.create_bucket(Bucket="mpu")
    c.put_object(Bucket="mpu", Key="source", Body=b"s" * (6 * 1024 * 1024))
    upload = c.create_multipart_upload(Bucket="mpu", Key="obj", ContentType="text/x-test",
                                       Metadata={"m": "1"})["UploadId"]  # fmt: skip
    assert [u["UploadId"] for u in c.list_multipart_uploads(Bucket="mpu")["Uploads"]] == [upload]
    one = c.upload_part(Bucket="mpu", Key="obj", UploadId=upload, PartNumber=1,
                        Body=b"a" * (5 * 1024 * 1024))  # fmt: skip
    two = c.upload_part_copy(Bucket="mpu", Key="obj", UploadId=upload, PartNumber=2,
                             CopySource="mpu/source", CopySourceRange="bytes=0-99")  # fmt: skip
    parts = c.list_parts(Bucket="mpu", Key="obj", UploadId=upload)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, 5 * 1024 * 1024), (2, 100)]
    with pytest.raises(ClientError) as err:  # out of order
        c.complete_multipart_upload(Bucket="mpu", Key="obj", UploadId=upload, MultipartUpload={
            "Parts": [{"PartNumber": 2, "ETag": two["CopyPartResult"]["ETag"]},
                      {"PartNumber": 1, "ETag": one["ETag"]}]})  # fmt: skip
    assert err.value.response["Error"]["Code"] == "InvalidPartOrder"
    done = c.complete_multipart_upload(Bucket="mpu", Key="obj", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": one["ETag"]},
                  {"PartNumber": 2, "ETag": two["CopyPartResult"]["ETag"]}]})  # fmt: skip
    digests = hashlib.md5(bytes.fromhex(one["ETag"].strip('"'))
                          + bytes.fromhex(two["CopyPartResult"]["ETag"].strip('"')))  # fmt: skip
    assert done["ETag"] == f'"{digests.hexdigest()}-2"'
    head = c.head_object(Bucket="mpu", Key="obj")
    assert head["ContentLength"] == 5 * 1024 * 1024 + 100 and head["Metadata"] == {"m": "1"}
    assert head["ContentType"] == "text/x-test"
    assert c.get_object(Bucket="mpu", Key="obj", Range="bytes=5242878-5242881")["Body"].read() \
        == b"aass"  # fmt: skip
    # a static large object for Swift: read whole, its row with the whole size
    headers, whole = conn.get_object("mpu", "obj")
    assert len(whole) == 5 * 1024 * 1024 + 100 and whole[-100:] == b"s" * 100
    assert headers["x-static-large-object"] == "True"
    assert {o["name"]: o["bytes"] for o in conn.get_container("mpu")[1]}["obj"] == len(whole)
    aborted = c.create_multipart_upload(Bucket="mpu", Key="gone")["UploadId"]
    c.abort_multipart_upload(Bucket="mpu", Key="gone", UploadId=aborted)
    with pytest.raises(ClientError) as err:
        c.list_parts(Bucket="mpu", Key="gone", UploadId=aborted)
    assert err.value.response["Error"]["Code"] == "NoSuchUpload"


# -- aws-chunked bodies, virtual hosts -------------------------------------------------------------
def test_streaming_signatures(s3: object, endpoint: str, keys: tuple[str, str]) -> None:
    c: Any = s3
    c.create_bucket(Bucket="chunks")
    data = os.urandom(200_000)
    assert chunked_put(endpoint, keys, "/chunks/signed", data)[0] == 200
    assert chunked_put(endpoint, keys, "/chunks/trailer", data, trailer=True)[0] == 200
    assert chunked_put(endpoint, keys, "/chunks/unsigned", data, trailer=True,
                       signed_chunks=False)[0] == 200  # fmt: skip
    for key in ("signed", "trailer", "unsigned"):
        assert c.get_object(Bucket="chunks", Key=key)["Body"].read() == data
    status, body = chunked_put(endpoint, keys, "/chunks/bad", data, corrupt="chunk")
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body
    status, body = chunked_put(endpoint, keys, "/chunks/bad", data, trailer=True, corrupt="crc")
    assert status == 400 and b"<Code>BadDigest</Code>" in body
    with pytest.raises(ClientError):  # nothing half-written is visible
        c.head_object(Bucket="chunks", Key="bad")
    # virtual-hosted style: the bucket in the Host header
    port = endpoint.rpartition(":")[2]
    status, body = signed(endpoint, keys, "GET", "/signed", host=f"chunks.localhost:{port}")
    assert status == 200 and body == data


# -- bad input -------------------------------------------------------------------------------------
def test_bad_input(s3: object, endpoint: str, keys: tuple[str, str]) -> None:
    c: Any = s3
    c.create_bucket(Bucket="bad")
    status, body = signed(endpoint, (keys[0], "wrong-secret"), "GET", "/")
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body
    status, body = signed(endpoint, ("AKIDUNKNOWN", "x"), "GET", "/")
    assert status == 403 and b"<Code>InvalidAccessKeyId</Code>" in body
    status, body = signed(endpoint, keys, "POST", "/bad?delete", b"<Delete><Object><Key>")
    assert status == 400 and b"<Code>MalformedXML</Code>" in body
    bomb = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;">]>'
            b"<Delete><Object><Key>&c;</Key></Object></Delete>")  # fmt: skip
    status, body = signed(endpoint, keys, "POST", "/bad?delete", bomb)
    assert status == 400 and b"<Code>MalformedXML</Code>" in body
    status, body = signed(endpoint, keys, "PUT", "/bad?versioning", b"<Versioning")
    assert status == 400 and b"<Code>MalformedXML</Code>" in body
    status, body = signed(endpoint, keys, "PUT", "/newbucket",
                          b"<CreateBucketConfiguration><LocationConstraint>mars-1"
                          b"</LocationConstraint></CreateBucketConfiguration>")  # fmt: skip
    assert status == 400 and b"<Code>InvalidLocationConstraint</Code>" in body
    status, body = signed(endpoint, keys, "PUT", "/bad/md5", b"data",
                          {"Content-MD5": base64.b64encode(b"x" * 16).decode()})  # fmt: skip
    assert status == 400 and b"<Code>BadDigest</Code>" in body
    with pytest.raises(ClientError) as err:
        c.put_object(Bucket="bad", Key="crc", Body=b"data", ChecksumCRC32="AAAAAA==")
    assert err.value.response["Error"]["Code"] == "BadDigest"
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: c.get_object(Bucket="bad", Key="missing"), "NoSuchKey"),
        (lambda: c.list_objects_v2(Bucket="nobucket"), "NoSuchBucket"),
        (lambda: c.put_object(Bucket="nobucket", Key="k", Body=b"x"), "NoSuchBucket"),
        (lambda: c.create_bucket(Bucket="Bad_Name"), "InvalidBucketName"),
        (lambda: c.create_bucket(Bucket="bad"), "BucketAlreadyOwnedByYou"),
    ]
    for call, code in cases:
        with pytest.raises(ClientError) as err:
            call()
        assert err.value.response["Error"]["Code"] == code
    c.put_object(Bucket="bad", Key="k", Body=b"x")
    with pytest.raises(ClientError) as err:
        c.delete_bucket(Bucket="bad")
    assert err.value.response["Error"]["Code"] == "BucketNotEmpty"
    expired = c.generate_presigned_url("get_object", Params={"Bucket": "bad", "Key": "k"},
                                       ExpiresIn=-10)  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as http_err:
        urllib.request.urlopen(expired)
    assert http_err.value.code == 403


# -- the same data through Swift ------------------------------------------------------------
def test_swift_interop(s3: object, conn: swift.Connection, endpoint: str) -> None:
    c: Any = s3
    conn.put_container("both")
    conn.put_object("both", "from-swift", b"written by swift",
                    headers={"X-Object-Meta-Who": "swift"})  # fmt: skip
    got = c.get_object(Bucket="both", Key="from-swift")
    assert got["Body"].read() == b"written by swift" and got["Metadata"] == {"who": "swift"}
    c.put_object(Bucket="both", Key="from-s3", Body=b"written by s3", Metadata={"who": "s3"})
    headers, body = conn.get_object("both", "from-s3")
    assert body == b"written by s3" and headers["x-object-meta-who"] == "s3"
    assert [b["Name"] for b in c.list_buckets()["Buckets"] if b["Name"] == "both"] == ["both"]
    info = urllib.request.urlopen(f"{endpoint}/info").read()
    assert b'"s3api"' in info


def test_signature_v2(endpoint: str, keys: tuple[str, str]) -> None:
    v2: Any = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=keys[0], aws_secret_access_key=keys[1],
        region_name=REGION, config=Config(signature_version="s3", retries={"max_attempts": 0}),
    )  # fmt: skip
    v2.create_bucket(Bucket="sigv2")
    v2.put_object(Bucket="sigv2", Key="k k", Body=b"signed with v2")
    assert [b["Name"] for b in v2.list_buckets()["Buckets"] if b["Name"] == "sigv2"] == ["sigv2"]
    url = v2.generate_presigned_url("get_object", Params={"Bucket": "sigv2", "Key": "k k"})
    assert "Signature=" in url
    with urllib.request.urlopen(url) as answer:
        assert answer.read() == b"signed with v2"
    bad: Any = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=keys[0], aws_secret_access_key="nope",
        region_name=REGION, config=Config(signature_version="s3", retries={"max_attempts": 0}),
    )  # fmt: skip
    with pytest.raises(ClientError) as err:
        bad.list_buckets()
    assert err.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_versioning(s3: object, conn: swift.Connection) -> None:
    """S3 versioning is Swift's object versioning (X-Versions-Enabled)."""
    c: Any = s3
    c.create_bucket(Bucket="ver")
    assert "Status" not in c.get_bucket_versioning(Bucket="ver")
    c.put_bucket_versioning(Bucket="ver", VersioningConfiguration={"Status": "Enabled"})
    assert c.get_bucket_versioning(Bucket="ver")["Status"] == "Enabled"
    assert conn.head_container("ver")["x-versions-enabled"] == "True"
    v1 = c.put_object(Bucket="ver", Key="k", Body=b"one", ContentType="text/plain")["VersionId"]
    v2 = c.put_object(Bucket="ver", Key="k", Body=b"two")["VersionId"]
    assert v1 != v2
    current = c.get_object(Bucket="ver", Key="k")
    assert current["Body"].read() == b"two" and current["VersionId"] == v2
    old = c.get_object(Bucket="ver", Key="k", VersionId=v1)
    assert old["Body"].read() == b"one" and old["ContentType"] == "text/plain"
    gone = c.delete_object(Bucket="ver", Key="k")
    assert gone["DeleteMarker"] is True
    with pytest.raises(ClientError) as err:
        c.get_object(Bucket="ver", Key="k")
    assert err.value.response["Error"]["Code"] == "NoSuchKey"
    listed = c.list_object_versions(Bucket="ver")
    assert sorted(v["VersionId"] for v in listed["Versions"]) == sorted([v1, v2])
    assert [m["IsLatest"] for m in listed["DeleteMarkers"]] == [True]
    # an old version copied over the key comes back as the newest
    c.copy_object(Bucket="ver", Key="k", CopySource={"Bucket": "ver", "Key": "k", "VersionId": v1})
    assert c.get_object(Bucket="ver", Key="k")["Body"].read() == b"one"
    c.delete_object(Bucket="ver", Key="k", VersionId=v2)
    with pytest.raises(ClientError) as err:
        c.get_object(Bucket="ver", Key="k", VersionId=v2)
    assert err.value.response["Error"]["Code"] == "NoSuchVersion"
    # Swift lists the same versions
    swift_versions = conn.get_container("ver", query_string="versions")[1]
    assert v1 in {o.get("version_id") for o in swift_versions}
    c.put_bucket_versioning(Bucket="ver", VersioningConfiguration={"Status": "Suspended"})
    assert c.get_bucket_versioning(Bucket="ver")["Status"] == "Suspended"
