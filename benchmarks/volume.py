"""Block storage benchmark: API -> ``available`` latencies, concurrent creates, backup throughput.

Works against any Block Storage v3 API on this machine (tinystack, or upstream cinder)::

    OS_CLIENT_CONFIG_FILE=/tmp/ts/clouds.yaml python benchmarks/volume.py --os-cloud tinystack-admin
    python benchmarks/volume.py --auth-url http://127.0.0.1:5000/v3 --username admin \\
        --password ... --project-name admin

Phases (each bounded in count and time; every volume it creates is deleted at the end):

1. ``--repeat`` empty volumes of ``--size`` GiB, one after the other: ``POST /volumes``
   until ``available`` (polled every 20 ms), then ``DELETE`` until gone;
2. ``--repeat`` volumes from the image ``--image`` (the 20 MB test image by default):
   ``POST /volumes`` with ``imageRef`` until ``available``;
3. ``--concurrent`` empty 1 GiB volumes created at once (one thread each; the project's
   ``volumes``/``gigabytes`` quota is raised for the phase and put back: admin credentials):
   errors
   (a create that is refused or ends in ``error``) and the time until all are available;
4. with ``--backup-mib N`` (and ``--workdir`` on the disk the backend and the backups use):
   an N MiB image of random bytes (``--compressible``: each MiB a quarter random bytes and
   three quarters log-like text: zlib level 1 stores it in ~58 %) is uploaded and a volume
   created from it; then ``--backup-rounds`` rounds of: ``cp`` of the same bytes to a
   file in ``--workdir``, twice: from a cold source (its pages dropped from the page
   cache first: read from the disk, as a restore reads backup objects written past the
   cache) and from a warm one (as the backup reads the volume's data); a backup
   (``POST /backups`` until ``available``); a restore into a new volume (until
   ``available``). Every timed phase starts after a ``sync`` (it does not
   pay for the writeback of the phases before it) and ends when what it wrote has
   reached the disk, so the three are compared like with like: cp with an fsync of its
   copy (``sync FILE``), the backup and the restore with a ``sync`` (the benchmark
   cannot name another cloud's files; a system-wide sync also waits for other work's
   dirty pages, which can only count against the backup and the restore). cp is
   measured in each round next to the backup and restore it is compared with (the
   host's load changes by the minute); reported are the medians of the rounds' rates
   and of each round's own ratios to cp: the backup's to the warm cp, the restore's to
   both (``restore_vs_cp_cold`` compares disk-to-disk copies like with like).

Only loopback endpoints are accepted.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from _harness import add_auth_args, creds_from_args, issue_token, public_endpoint, require_loopback

VERSION = "volume 3.60"
POLL = 0.02
#: backups and restores take seconds: their status is polled less often, so that the
#: benchmark's own GETs (token checks, queries) do not take CPU from the work it times
#: in the cloud's process (at 20 ms they held about a quarter of a core)
POLL_LONG = 0.1
MiB = 1024 * 1024


class Cinder:
    def __init__(self, url: str, token: str) -> None:
        self.http = httpx.Client(
            base_url=url,
            headers={"X-Auth-Token": token, "OpenStack-API-Version": VERSION},
            timeout=120,
        )

    def create(self, body: dict[str, Any]) -> tuple[str, float]:
        started = time.perf_counter()
        resp = self.http.post("/volumes", json={"volume": body})
        if resp.status_code != 202:
            raise RuntimeError(f"create: {resp.status_code} {resp.text[:200]}")
        return str(resp.json()["volume"]["id"]), started

    def wait(self, path: str, key: str, want: str, timeout: float, interval: float = POLL) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            resp = self.http.get(path)
            if resp.status_code == 200:
                status = resp.json()[key]["status"]
                if status == want:
                    return time.perf_counter()
                if status.startswith("error"):
                    raise RuntimeError(f"{path} went to {status}")
            time.sleep(interval)
        raise RuntimeError(f"{path} not {want} after {timeout}s")

    def wait_gone(self, path: str, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.http.get(path).status_code == 404:
                return time.perf_counter()
            time.sleep(POLL)
        raise RuntimeError(f"{path} still there after {timeout}s")

    def delete(self, vid: str) -> None:
        self.http.delete(f"/volumes/{vid}")


def _pcts(values: list[float]) -> dict[str, float]:
    data = sorted(values)
    return {
        "p50_ms": round(statistics.median(data) * 1000, 1),
        "max_ms": round(data[-1] * 1000, 1),
        "n": len(data),
    }


def single_creates(
    cinder: Cinder, body: dict[str, Any], repeat: int, timeout: float
) -> list[float]:
    times = []
    for _ in range(repeat):
        vid, started = cinder.create({**body, "name": f"vol-bench-{uuid.uuid4().hex[:8]}"})
        try:
            times.append(cinder.wait(f"/volumes/{vid}", "volume", "available", timeout) - started)
        finally:
            cinder.delete(vid)
            cinder.wait_gone(f"/volumes/{vid}", timeout)
    return times


def raise_quota(cinder: Cinder, project_id: str, count: int) -> dict[str, Any]:
    """Room for ``count`` more 1 GiB volumes in the project's quota (admin); returns the old
    quota set so the caller can put it back."""
    old = cinder.http.get(f"/os-quota-sets/{project_id}").json()["quota_set"]
    wanted = {
        key: max(int(old.get(key, 0)), count + 20) if int(old.get(key, 0)) >= 0 else -1
        for key in ("volumes", "gigabytes")
    }
    cinder.http.put(f"/os-quota-sets/{project_id}", json={"quota_set": wanted})
    return {key: old[key] for key in wanted}


def concurrent_creates(cinder: Cinder, count: int, timeout: float) -> dict[str, Any]:
    ids: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()

    def one(n: int) -> None:
        try:
            vid, _ = cinder.create({"size": 1, "name": f"vol-bench-c{n}"})
            with lock:
                ids.append(vid)
            cinder.wait(f"/volumes/{vid}", "volume", "available", timeout)
        except Exception as exc:  # counted, not fatal
            with lock:
                errors.append(str(exc)[:200])

    t0 = time.perf_counter()
    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    for vid in ids:
        cinder.delete(vid)
    for vid in ids:
        cinder.wait_gone(f"/volumes/{vid}", timeout)
    return {
        "volumes": count,
        "errors": len(errors),
        "first_errors": errors[:3],
        "all_available_s": round(elapsed, 2),
    }


def _upload_image(image_url: str, token: str, path: Path) -> str:
    headers = {"X-Auth-Token": token}
    resp = httpx.post(
        f"{image_url}/v2/images",
        headers=headers,
        json={
            "name": f"vol-bench-{uuid.uuid4().hex[:8]}",
            "disk_format": "raw",
            "container_format": "bare",
        },
    )
    resp.raise_for_status()
    image_id = str(resp.json()["id"])
    with path.open("rb") as f:
        httpx.put(
            f"{image_url}/v2/images/{image_id}/file",
            headers={**headers, "Content-Type": "application/octet-stream"},
            content=f,
            timeout=600,
        ).raise_for_status()
    return image_id


@functools.cache
def _log_text() -> bytes:
    return b"".join(f"line {i} of a log file, {uuid.uuid4()}\n".encode() for i in range(16384))


def _mib_of_data(compressible: bool) -> bytes:
    if not compressible:
        return os.urandom(MiB)
    return os.urandom(MiB // 4) + _log_text()[: MiB - MiB // 4]


def _timed(action: Any, sync: bool = True) -> float:
    """Seconds for ``action()`` plus a ``sync``: what is measured has reached the disk."""
    started = time.perf_counter()
    action()
    if sync:
        os.sync()
    return time.perf_counter() - started


def _cp(src: Path, copy: Path) -> None:
    """cp, then fsync of the copy alone (coreutils ``sync FILE``): a system-wide sync
    would also wait for whatever other work on the host left dirty."""
    subprocess.run(["cp", str(src), str(copy)], check=True)
    subprocess.run(["sync", str(copy)], check=True)


def _evict(path: Path) -> None:
    """Drop ``path``'s clean pages from the page cache (its next read comes from disk)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _backup_round(cinder: Cinder, vid: str, src: Path, copy: Path) -> dict[str, float]:
    """One round: cp from a cold source, cp from a warm one, backup, restore, each after
    a ``sync`` and timed with one."""
    os.sync()  # each timed phase starts without the previous phases' dirty pages
    _evict(src)
    cp_cold_s = _timed(lambda: _cp(src, copy), sync=False)
    copy.unlink()
    os.sync()
    cp_s = _timed(lambda: _cp(src, copy), sync=False)  # cold cp's read left it warm
    copy.unlink()
    backup_id = restored = ""

    def backup() -> None:
        nonlocal backup_id
        resp = cinder.http.post(
            "/backups", json={"backup": {"volume_id": vid, "name": "vol-bench"}}
        )
        if resp.status_code != 202:
            raise RuntimeError(f"backup: {resp.status_code} {resp.text[:200]}")
        backup_id = str(resp.json()["backup"]["id"])
        cinder.wait(f"/backups/{backup_id}", "backup", "available", 900, POLL_LONG)

    def restore() -> None:
        nonlocal restored
        resp = cinder.http.post(
            f"/backups/{backup_id}/restore", json={"restore": {"name": "vol-bench-restored"}}
        )
        if resp.status_code != 202:
            raise RuntimeError(f"restore: {resp.status_code} {resp.text[:200]}")
        restored = str(resp.json()["restore"]["volume_id"])
        cinder.wait(f"/volumes/{restored}", "volume", "available", 900, POLL_LONG)

    load = os.getloadavg()[0]
    try:
        os.sync()
        backup_s = _timed(backup)
        os.sync()
        restore_s = _timed(restore)
    finally:
        if restored:
            cinder.delete(restored)
        if backup_id:
            cinder.http.delete(f"/backups/{backup_id}")
            cinder.wait_gone(f"/backups/{backup_id}", 300)
    return {
        "load": load,
        "cp_s": cp_s,
        "cp_cold_s": cp_cold_s,
        "backup_s": backup_s,
        "restore_s": restore_s,
    }


def backup_throughput(
    cinder: Cinder,
    image_url: str,
    token: str,
    mib: int,
    workdir: Path,
    compressible: bool,
    rounds: int = 1,
) -> dict[str, Any]:
    size_gib = max(1, -(-mib // 1024))
    with tempfile.TemporaryDirectory(dir=workdir, prefix="vol-bench-") as tmp:
        src = Path(tmp) / "data.raw"
        with src.open("wb") as f:
            for _ in range(mib):
                f.write(_mib_of_data(compressible))
        image_id = _upload_image(image_url, token, src)
        vid, _ = cinder.create({"size": size_gib, "imageRef": image_id, "name": "vol-bench-src"})
        runs = []
        try:
            cinder.wait(f"/volumes/{vid}", "volume", "available", 600)
            for _ in range(rounds):
                runs.append(_backup_round(cinder, vid, src, Path(tmp) / "copy.raw"))
                print(f"  round: {_rates(mib, runs[-1])}", flush=True)
        finally:
            cinder.delete(vid)
            httpx.delete(f"{image_url}/v2/images/{image_id}", headers={"X-Auth-Token": token})
    # rates: medians of the rounds' times; ratios: medians of each round's own ratio
    median = _rates(mib, {k: statistics.median(r[k] for r in runs) for k in runs[0]})
    for key in ("backup_vs_cp", "restore_vs_cp", "restore_vs_cp_cold"):
        median[key] = statistics.median(_rates(mib, r)[key] for r in runs)
    return {"mib": mib, "compressible": compressible, "rounds": rounds, **median}


def _rates(mib: int, run: dict[str, float]) -> dict[str, float]:
    return {
        "load": round(run["load"], 1),
        "cp_mib_s": round(mib / run["cp_s"], 1),
        "cp_cold_mib_s": round(mib / run["cp_cold_s"], 1),
        "backup_mib_s": round(mib / run["backup_s"], 1),
        "restore_mib_s": round(mib / run["restore_s"], 1),
        "backup_vs_cp": round(run["cp_s"] / run["backup_s"], 2),
        "restore_vs_cp": round(run["cp_s"] / run["restore_s"], 2),
        "restore_vs_cp_cold": round(run["cp_cold_s"] / run["restore_s"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_auth_args(parser)
    parser.add_argument("--size", type=int, default=1, help="GiB of the empty volumes")
    parser.add_argument("--image", default="tinystack-test", help="image name or id")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--concurrent", type=int, default=100)
    parser.add_argument("--backup-mib", type=int, default=0, help="0: skip the backup phase")
    parser.add_argument("--workdir", default=tempfile.gettempdir())
    parser.add_argument(
        "--compressible", action="store_true", help="backup data zlib can shrink (to ~58 %%)"
    )
    parser.add_argument(
        "--backup-rounds", type=int, default=1, help="cp/backup/restore rounds (medians)"
    )
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    creds = creds_from_args(args)
    require_loopback(creds.auth_url)
    token, body = issue_token(creds)
    catalog = body["token"]["catalog"]
    volume_url = public_endpoint(catalog, "block-storage", "volumev3")
    image_url = public_endpoint(catalog, "image")
    require_loopback(volume_url)
    cinder = Cinder(volume_url, token)
    results: dict[str, Any] = {}

    empty = single_creates(cinder, {"size": args.size}, args.repeat, args.timeout)
    results["empty_to_available"] = _pcts(empty)
    print(f"empty {args.size} GiB -> available: {results['empty_to_available']}", flush=True)

    found = httpx.get(
        f"{image_url}/v2/images", params={"name": args.image}, headers={"X-Auth-Token": token}
    ).json()["images"]
    if found:
        image = found[0]
        size = max(1, -(-int(image.get("size") or 0) // (1024**3)), int(image.get("min_disk") or 0))
        from_image = single_creates(
            cinder, {"size": size, "imageRef": image["id"]}, args.repeat, args.timeout
        )
        results["image_to_available"] = _pcts(from_image)
        print(f"from image {args.image} -> available: {results['image_to_available']}", flush=True)

    if args.concurrent:
        project_id = str(body["token"]["project"]["id"])
        old_quota = raise_quota(cinder, project_id, args.concurrent)
        try:
            results["concurrent"] = concurrent_creates(cinder, args.concurrent, args.timeout)
        finally:
            cinder.http.put(f"/os-quota-sets/{project_id}", json={"quota_set": old_quota})
        print(f"{args.concurrent} concurrent creates: {results['concurrent']}", flush=True)

    if args.backup_mib:
        results["backup"] = backup_throughput(
            cinder,
            image_url,
            token,
            args.backup_mib,
            Path(args.workdir),
            args.compressible,
            args.backup_rounds,
        )
        print(f"backup/restore: {results['backup']}", flush=True)

    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
