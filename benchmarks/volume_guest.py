"""Volumes in a running guest: attach -> the disk is visible in the guest, and sequential
write throughput on the attached volume vs the same guest's root disk.

Works against any cloud on this machine whose compute hosts run real guests and whose
image runs a ``#!`` user_data script and shows its output on the serial console (the
tinystack test image does both; see ``benchmarks/boot.py`` for a cloud with the QEMU
driver — add ``volume`` to ``enabled_services``)::

    OS_CLIENT_CONFIG_FILE=/tmp/ts-boot/clouds.yaml python benchmarks/volume_guest.py \\
        --os-cloud tinystack-admin

The guest's user_data script (in this file) does the work inside the guest:

1. at boot it fills a ``--mib`` MiB buffer in RAM with random bytes and writes it to the
   tail of its root disk (``/dev/vda``, past the boot image) with ``dd oflag=direct
   conv=fsync`` (the guest's page cache is not measured), then prints ``VOLBENCH-ROOT``;
2. every 0.1 s it looks at ``/sys/block/vd*``; a new disk is reported at once
   (``VOLBENCH-DISK name=.. serial=..``: the serial is the volume id's first 20 characters,
   as upstream), then the same buffer is written to it the same way (``VOLBENCH-WRITE``)
   and to the root disk once more (``VOLBENCH-ROOT``), so both are measured under the
   same load.

The benchmark boots one guest (``networks: none``), and ``--repeat`` times: creates an
empty 1 GiB volume, attaches it (``POST /servers/{id}/os-volume_attachments``) and
measures until the guest reports the disk (console polled every 0.1 s), reads the write
figures, detaches it and deletes it. Times inside the guest come from ``/proc/uptime``
(10 ms). Everything it creates is deleted at the end. Only loopback endpoints are
accepted.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from _harness import add_auth_args, creds_from_args, issue_token, public_endpoint, require_loopback

COMPUTE_VERSION = "compute 2.96"
VOLUME_VERSION = "volume 3.60"

GUEST_SCRIPT = r"""#!/bin/sh
MIB=__MIB__
now() { read -r up _ < /proc/uptime; echo "$up"; }
wr() {  # wr LABEL DEVICE SEEK_MIB
  t0=$(now)
  dd if=/tmp/volbench.buf of="/dev/$2" bs=1M count=$MIB seek="$3" \
    oflag=direct conv=fsync,notrunc 2>/dev/null
  rc=$?; t1=$(now)
  echo "VOLBENCH-$1 disk=$2 mib=$MIB rc=$rc seconds=$(awk "BEGIN{print $t1-$t0}")"
}
dd if=/dev/urandom of=/tmp/volbench.buf bs=1M count=$MIB 2>/dev/null
root_seek=$(( $(cat /sys/block/vda/size) / 2048 - MIB - 1 ))
seen=" $(cd /sys/block && echo vd*) "
wr ROOT vda "$root_seek"
while true; do
  for d in /sys/block/vd*; do
    n=${d##*/}
    case "$seen" in *" $n "*) continue ;; esac
    echo "VOLBENCH-DISK name=$n serial=$(cat "$d/serial" 2>/dev/null) uptime=$(now)"
    seen="$seen$n "
    wr WRITE "$n" 0
    wr ROOT vda "$root_seek"
  done
  for n in $seen; do [ -e "/sys/block/$n" ] || seen=$(echo "$seen" | sed "s/ $n / /"); done
  sleep 0.1
done
"""


class Guest:
    """One server and the lines its console has shown."""

    def __init__(self, nova: httpx.Client, sid: str) -> None:
        self.nova = nova
        self.sid = sid

    def console(self) -> str:
        resp = self.nova.post(f"/servers/{self.sid}/action", json={"os-getConsoleOutput": {}})
        return str(resp.json().get("output", "")) if resp.status_code == 200 else ""

    def wait_line(self, pattern: str, after: int, timeout: float) -> tuple[re.Match[str], float]:
        """The first match of ``pattern`` among console lines numbered ``after`` or later,
        and when it was seen."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.console().splitlines()[after:]
            for line in lines:
                found = re.search(pattern, line)
                if found:
                    return found, time.monotonic()
            time.sleep(0.1)
        raise SystemExit(f"no {pattern!r} on the console of {self.sid} in {timeout}s")

    def line_count(self) -> int:
        return len(self.console().splitlines())


def _wait_status(http: httpx.Client, path: str, key: str, want: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = http.get(path)
        status = resp.json()[key]["status"] if resp.status_code == 200 else "?"
        if status.lower() == want:
            return
        if status.lower() == "error":
            raise SystemExit(f"{path} went to error")
        time.sleep(0.1)
    raise SystemExit(f"{path} not {want} in {timeout}s")


def _wait_gone(http: httpx.Client, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and http.get(path).status_code != 404:
        time.sleep(0.1)


def boot(nova: httpx.Client, image: str, flavor: str, mib: int) -> Guest:
    script = GUEST_SCRIPT.replace("__MIB__", str(mib))
    body = {
        "server": {
            "name": "volguest-bench",
            "imageRef": image,
            "flavorRef": flavor,
            "networks": "none",
            "user_data": base64.b64encode(script.encode()).decode(),
        }
    }
    resp = nova.post("/servers", json=body)
    if resp.status_code != 202:
        raise SystemExit(f"create failed: {resp.status_code} {resp.text[:300]}")
    guest = Guest(nova, str(resp.json()["server"]["id"]))
    _wait_status(nova, f"/servers/{guest.sid}", "server", "active", 180)
    return guest


def one_attach(
    nova: httpx.Client, cinder: httpx.Client, guest: Guest, timeout: float
) -> dict[str, float]:
    resp = cinder.post("/volumes", json={"volume": {"size": 1, "name": "volguest-bench"}})
    if resp.status_code != 202:
        raise SystemExit(f"volume create: {resp.status_code} {resp.text[:300]}")
    vid = str(resp.json()["volume"]["id"])
    try:
        _wait_status(cinder, f"/volumes/{vid}", "volume", "available", 120)
        after = guest.line_count()
        started = time.monotonic()
        resp = nova.post(
            f"/servers/{guest.sid}/os-volume_attachments",
            json={"volumeAttachment": {"volumeId": vid}},
        )
        if resp.status_code != 200:
            raise SystemExit(f"attach: {resp.status_code} {resp.text[:300]}")
        serial = re.escape(vid[:20])
        _, seen = guest.wait_line(rf"VOLBENCH-DISK name=(\w+) serial={serial}", after, timeout)
        visible = seen - started
        found, _ = guest.wait_line(r"VOLBENCH-WRITE disk=\w+ mib=(\d+) rc=0 seconds=([\d.]+)",
                                   after, timeout)  # fmt: skip
        root, _ = guest.wait_line(r"VOLBENCH-ROOT disk=vda mib=(\d+) rc=0 seconds=([\d.]+)",
                                  after, timeout)  # fmt: skip
        volume_mib_s = int(found[1]) / max(float(found[2]), 0.01)
        root_mib_s = int(root[1]) / max(float(root[2]), 0.01)
        nova.delete(f"/servers/{guest.sid}/os-volume_attachments/{vid}")
        _wait_status(cinder, f"/volumes/{vid}", "volume", "available", 120)
    finally:
        cinder.delete(f"/volumes/{vid}")
        _wait_gone(cinder, f"/volumes/{vid}", 60)
    return {"visible_s": visible, "volume_mib_s": volume_mib_s, "root_mib_s": root_mib_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_auth_args(parser)
    parser.add_argument("--image", default="tinystack-test", help="image name or id")
    parser.add_argument("--flavor", default="m1.tiny", help="flavor name or id")
    parser.add_argument("--mib", type=int, default=64, help="MiB written per measurement")
    parser.add_argument("--repeat", type=int, default=3, help="attaches (one volume each)")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    creds = creds_from_args(args)
    require_loopback(creds.auth_url)
    token, body = issue_token(creds)
    catalog = body["token"]["catalog"]
    compute = public_endpoint(catalog, "compute")
    volume = public_endpoint(catalog, "block-storage", "volumev3")
    image_url = public_endpoint(catalog, "image")
    for url in (compute, volume, image_url):
        require_loopback(url)
    headers = {"X-Auth-Token": token}
    nova = httpx.Client(
        base_url=compute, headers={**headers, "OpenStack-API-Version": COMPUTE_VERSION}, timeout=60
    )
    cinder = httpx.Client(
        base_url=volume, headers={**headers, "OpenStack-API-Version": VOLUME_VERSION}, timeout=60
    )
    found = httpx.get(f"{image_url}/v2/images", params={"name": args.image}, headers=headers)
    images = found.json().get("images", [])
    image_id = images[0]["id"] if images else args.image
    flavors = nova.get("/flavors").json()["flavors"]
    flavor_id = next((f["id"] for f in flavors if args.flavor in (f["name"], f["id"])), args.flavor)

    guest = boot(nova, image_id, flavor_id, args.mib)
    runs = []
    try:
        guest.wait_line(r"VOLBENCH-ROOT disk=vda mib=\d+ rc=0", 0, args.timeout)
        for n in range(args.repeat):
            run = one_attach(nova, cinder, guest, args.timeout)
            runs.append(run)
            print(
                f"attach {n}: visible in the guest {run['visible_s']:.2f}s  "
                f"write: volume {run['volume_mib_s']:.1f} MiB/s, "
                f"root disk {run['root_mib_s']:.1f} MiB/s",
                flush=True,
            )
    finally:
        nova.delete(f"/servers/{guest.sid}")
        _wait_gone(nova, f"/servers/{guest.sid}", 120)
    volume_mib_s = statistics.median(r["volume_mib_s"] for r in runs)
    root_mib_s = statistics.median(r["root_mib_s"] for r in runs)
    results = {
        "mib": args.mib,
        "attach_visible_s": {
            "p50": round(statistics.median(r["visible_s"] for r in runs), 2),
            "max": round(max(r["visible_s"] for r in runs), 2),
            "n": len(runs),
        },
        "write_volume_mib_s": round(volume_mib_s, 1),
        "write_root_mib_s": round(root_mib_s, 1),
        "volume_vs_root": round(volume_mib_s / root_mib_s, 2),
    }
    print(json.dumps(results, indent=2) if args.json else results)


if __name__ == "__main__":
    main()
