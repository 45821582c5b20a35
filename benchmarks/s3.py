"""S3 API benchmark: small-object PUT and GET rates at a concurrency, one large object's
multipart upload and download throughput, and a bucket listing (boto3, with its default
checksums and signed payloads).

    AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... python benchmarks/s3.py \\
        --endpoint http://127.0.0.1:8080 --small 500 --concurrency 16 --large-mib 256

Keys: ``openstack ec2 credentials create``. Bounded in count and time; the bucket it
creates is emptied and deleted. Only loopback endpoints are accepted.
"""

from __future__ import annotations

import argparse
import io
import ipaddress
import os
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

MiB = 1024 * 1024


def _loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    if not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise SystemExit(f"refusing to benchmark a non-loopback endpoint: {url}")


def _rate(label: str, count: int, seconds: float) -> None:
    print(f"{label:<28} {count / seconds:8.1f} /s   ({count} in {seconds:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--small", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--large-mib", type=int, default=64)
    args = parser.parse_args()
    _loopback(args.endpoint)
    config = Config(retries={"max_attempts": 0}, max_pool_connections=args.concurrency)
    client: Any = boto3.client(
        "s3", endpoint_url=args.endpoint, region_name="us-east-1", config=config,
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
    )  # fmt: skip
    bucket = f"bench-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    body = os.urandom(4096)
    keys = [f"small/{i:06d}" for i in range(args.small)]
    try:
        with ThreadPoolExecutor(args.concurrency) as pool:
            started = time.monotonic()
            list(pool.map(lambda k: client.put_object(Bucket=bucket, Key=k, Body=body), keys))
            _rate("4 KiB PUT", len(keys), time.monotonic() - started)
            started = time.monotonic()
            list(pool.map(lambda k: client.get_object(Bucket=bucket, Key=k)["Body"].read(), keys))
            _rate("4 KiB GET", len(keys), time.monotonic() - started)
        started = time.monotonic()
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        listed = sum(page.get("KeyCount", 0) for page in pages)
        print(f"{'listing of ' + str(listed):<28} {time.monotonic() - started:8.3f} s")
        large = os.urandom(args.large_mib * MiB)
        transfer = TransferConfig(multipart_chunksize=8 * MiB, max_concurrency=10)
        started = time.monotonic()
        client.upload_fileobj(io.BytesIO(large), bucket, "large", Config=transfer)
        seconds = time.monotonic() - started
        print(f"{f'{args.large_mib} MiB multipart PUT':<28} {args.large_mib / seconds:8.1f} MiB/s")
        out = io.BytesIO()
        started = time.monotonic()
        client.download_fileobj(bucket, "large", out, Config=transfer)
        seconds = time.monotonic() - started
        assert out.getvalue() == large
        print(f"{f'{args.large_mib} MiB GET':<28} {args.large_mib / seconds:8.1f} MiB/s")
    finally:
        for start in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[start : start + 1000]]
            client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        client.delete_object(Bucket=bucket, Key="large")
        for _ in range(30):  # the container's rows may lag its objects' deletes
            try:
                client.delete_bucket(Bucket=bucket)
                break
            except ClientError:
                time.sleep(1)


if __name__ == "__main__":
    main()
