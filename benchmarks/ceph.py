"""Ceph benchmark: a volume from an image, and a boot, when images, volumes and root disks
are RBD images (image store ``rbd``, volume driver ``rbd``, ``[compute] images_type = rbd``).

Works against any cloud on this machine whose block storage and compute keep data in
the same Ceph cluster as its image service (tinystack, or upstream Glance/Cinder/Nova on
RBD)::

    OS_CLIENT_CONFIG_FILE=/tmp/ts/clouds.yaml python benchmarks/ceph.py \\
        --os-cloud tinystack-admin --boot-image-file /tmp/guest.raw

Phases (each bounded; everything it creates is deleted at the end):

1. two raw images are uploaded (not timed): ``--image-mib`` (1024: a 1 GiB image, a
   random MiB every 8 MiB) and a small one (16 MiB);
2. ``--repeat`` volumes from each image, one after the other: ``POST /volumes`` with
   ``imageRef`` until ``available`` (polled every 20 ms), then deleted. With RBD these
   are copy-on-write clones: the two sizes side by side show whether the time depends
   on the image's size (measured in the same run, so the host's load is the same);
3. with ``--boot-image-file`` (a raw guest image whose console prints ``--marker``; the
   tinystack test image converted with ``qemu-img convert -O raw``): uploaded raw
   (cloned for the root disk) and as qcow2 (``--boot-qcow2-file``, optional: converted
   into the pool, the copy path), ``--repeat`` boots of each: ``POST /servers`` until
   ACTIVE and until the marker is in the console, then deleted.

Only loopback endpoints are accepted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from _harness import add_auth_args, creds_from_args, issue_token, public_endpoint, require_loopback

MiB = 1 << 20


def _wait(get: Any, done: Any, timeout: float, poll: float = 0.02) -> float:
    """Seconds until ``done(get())`` (raises on error or timeout)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if done(get()):
            return time.monotonic() - started
        time.sleep(poll)
    raise SystemExit(f"timed out after {timeout}s")


def upload(http: httpx.Client, image_url: str, name: str, path: Path, fmt: str) -> str:
    body = {"name": name, "disk_format": fmt, "container_format": "bare"}
    image = http.post(f"{image_url}/v2/images", json=body).json()
    with path.open("rb") as f:
        answer = http.put(
            f"{image_url}/v2/images/{image['id']}/file",
            content=f,
            headers={"Content-Type": "application/octet-stream"},
            timeout=600,
        )
    if answer.status_code != 204:
        raise SystemExit(f"upload of {name}: {answer.status_code} {answer.text[:300]}")
    return str(image["id"])


def make_image(directory: Path, mib: int) -> Path:
    path = directory / f"image-{mib}.raw"
    with path.open("wb") as f:
        for offset in range(0, mib, 8):
            f.seek(offset * MiB)
            f.write(os.urandom(MiB))
        f.truncate(mib * MiB)
    return path


def volume_from_image(http: httpx.Client, volume_url: str, image: str, size: int) -> float:
    started = time.monotonic()
    body = {"volume": {"size": size, "imageRef": image}}
    vol = http.post(f"{volume_url}/volumes", json=body).json()["volume"]

    def status() -> str:
        return str(http.get(f"{volume_url}/volumes/{vol['id']}").json()["volume"]["status"])

    def available(value: str) -> bool:
        if value == "error":
            raise SystemExit(f"volume {vol['id']} went to error")
        return value == "available"

    _wait(status, available, 300)
    elapsed = time.monotonic() - started
    http.delete(f"{volume_url}/volumes/{vol['id']}")
    _wait(lambda: http.get(f"{volume_url}/volumes/{vol['id']}").status_code, (404).__eq__, 120)
    return elapsed


def boot(
    http: httpx.Client, compute_url: str, image: str, flavor: str, marker: str
) -> dict[str, float]:
    started = time.monotonic()
    body = {"server": {"name": "bench-rbd", "imageRef": image, "flavorRef": flavor,
                       "networks": "none"}}  # fmt: skip
    headers = {"OpenStack-API-Version": "compute 2.37"}
    server = http.post(f"{compute_url}/servers", json=body, headers=headers).json()["server"]
    url = f"{compute_url}/servers/{server['id']}"

    def status() -> str:
        found = http.get(url).json()["server"]
        if found["status"] == "ERROR":
            raise SystemExit(f"server went to ERROR: {found.get('fault')}")
        return str(found["status"])

    active = _wait(status, "ACTIVE".__eq__, 300, poll=0.05)

    def console() -> str:
        answer = http.post(f"{url}/action", json={"os-getConsoleOutput": {"length": 200}})
        return str(answer.json().get("output", "")) if answer.status_code == 200 else ""

    _wait(console, lambda text: marker in text, 300, poll=0.2)
    ready = time.monotonic() - started
    http.delete(url)
    _wait(lambda: http.get(url).status_code, (404).__eq__, 120, poll=0.1)
    return {"active_s": round(active, 2), "ready_s": round(ready, 2)}


def _flavor(http: httpx.Client, compute_url: str, name: str) -> str:
    for flavor in http.get(f"{compute_url}/flavors").json()["flavors"]:
        if name in (flavor["name"], flavor["id"]):
            return str(flavor["id"])
    raise SystemExit(f"no flavor {name}")


def _summary(values: list[float]) -> dict[str, float]:
    return {"median_s": round(statistics.median(values), 3), "max_s": round(max(values), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_auth_args(parser)
    parser.add_argument("--image-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--boot-image-file", type=Path)
    parser.add_argument("--boot-qcow2-file", type=Path)
    parser.add_argument("--flavor", default="m1.tiny")
    parser.add_argument("--marker", default="TINYSTACK-GUEST-READY")
    args = parser.parse_args()
    creds = creds_from_args(args)
    require_loopback(creds.auth_url)
    token, body = issue_token(creds)
    catalog = body["token"]["catalog"]
    volume_url = public_endpoint(catalog, "block-storage", "volumev3")
    image_url = public_endpoint(catalog, "image")
    for url in (volume_url, image_url):
        require_loopback(url)
    report: dict[str, Any] = {}
    made: list[str] = []
    with httpx.Client(headers={"X-Auth-Token": token}, timeout=60) as http:
        try:
            with tempfile.TemporaryDirectory(prefix="bench-ceph-") as tmp:
                for mib in (args.image_mib, 16):
                    made.append(
                        upload(http, image_url, f"bench-{mib}", make_image(Path(tmp), mib), "raw")
                    )
            size = -(-args.image_mib // 1024)
            for image, mib in zip(made, (args.image_mib, 16), strict=True):
                runs = [
                    volume_from_image(http, volume_url, image, size) for _ in range(args.repeat)
                ]
                report[f"volume_from_{mib}MiB_image"] = _summary(runs)
            if args.boot_image_file:
                compute_url = public_endpoint(catalog, "compute")
                require_loopback(compute_url)
                flavor = _flavor(http, compute_url, args.flavor)
                kinds = [("raw", args.boot_image_file)]
                if args.boot_qcow2_file:
                    kinds.append(("qcow2", args.boot_qcow2_file))
                for fmt, path in kinds:
                    image = upload(http, image_url, f"bench-boot-{fmt}", path, fmt)
                    made.append(image)
                    boots = [
                        boot(http, compute_url, image, flavor, args.marker)
                        for _ in range(args.repeat)
                    ]
                    report[f"boot_{fmt}_image"] = {
                        "active": _summary([r["active_s"] for r in boots]),
                        "ready": _summary([r["ready_s"] for r in boots]),
                    }
        finally:
            for image in made:
                http.delete(f"{image_url}/v2/images/{image}")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
