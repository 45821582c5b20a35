"""The node-local cache's cleaner and pruner (upstream's glance-cache-cleaner and
glance-cache-pruner), run by the prefetcher's thread, seen through the cache API."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.image import imagefiles
from tests.image.conftest import Api, MakeApi
from tinystack.image.service import build_deps
from tinystack.image.services.cache_prefetcher import Prefetcher


def _cached(api: Api, headers: dict[str, str]) -> list[str]:
    resp = api.client.get("/v2/cache", headers=headers)
    assert resp.status_code == 200, resp.text
    return [c["image_id"] for c in resp.json()["cached_images"]]


def test_cleaner_and_pruner(make_api: MakeApi, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    conf = {"image.image_cache_dir": str(cache_dir), "image.image_cache_max_size": 50_000}
    api = make_api(**conf, **{"image.image_cache_stall_time": 600})
    deps = build_deps(api.runtime)
    images = [api.active(imagefiles.raw(10_000, seed=n)) for n in range(3)]
    for image in images:  # downloads fill the cache, oldest access first
        got = api.client.get(f"/v2/images/{image['id']}/file", headers=api.headers())
        assert got.status_code == 200
        time.sleep(0.01)
    assert sorted(_cached(api, api.admin())) == sorted(i["id"] for i in images)

    # a fill stalled for longer than the stall time, a running one, a stray data file
    stalled = cache_dir / "incomplete" / "stalled.part"
    running = cache_dir / "incomplete" / "running.part"
    stray = cache_dir / "data" / "not-in-the-cache-db"
    for path in (stalled, running, stray):
        path.write_bytes(b"x" * 100)
    old = time.time() - 3600
    os.utime(stalled, (old, old))
    # a row whose file went away
    (cache_dir / "data" / images[0]["id"]).unlink()
    assert Prefetcher(deps).run_once() == 0
    assert not stalled.exists() and not stray.exists() and running.exists()
    assert sorted(_cached(api, api.admin())) == sorted(i["id"] for i in images[1:])
    # the data is still served (from the store) and the cache refilled
    got = api.client.get(f"/v2/images/{images[0]['id']}/file", headers=api.headers())
    assert got.content == imagefiles.raw(10_000, seed=0)
    assert images[0]["id"] in _cached(api, api.admin())

    # a lower limit (a restart with a smaller cache) is enforced by the next run:
    # the least recently used entries go
    smaller = make_api(**{**conf, "image.image_cache_max_size": 15_000})
    assert Prefetcher(build_deps(smaller.runtime)).run_once() == 0
    assert _cached(smaller, smaller.admin()) == [images[0]["id"]]
    kept = cache_dir / "data" / images[0]["id"]
    assert kept.read_bytes() == imagefiles.raw(10_000, seed=0)
