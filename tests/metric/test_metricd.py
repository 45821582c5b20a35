"""The measure backlog and the metric workers on a real cloud: measures accepted (202)
survive a kill -9 of the cloud and are aggregated exactly once after the restart;
``/v1/status`` shows the backlog and its draining; ``refresh=true`` aggregates a
metric's queued measures before answering, other reads show what was aggregated."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import httpx

from tests.cloudproc import CloudProcess

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z, a whole hour
BATCHES, PER_BATCH = 10, 50


def _token(cloud: CloudProcess) -> str:
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": cloud.password("admin")}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
    }}  # fmt: skip
    resp = httpx.post(f"{cloud.auth_url}/auth/tokens", json=body)
    assert resp.status_code == 201, resp.text
    return resp.headers["x-subject-token"]


def _client(cloud: CloudProcess) -> httpx.Client:
    headers = {"X-Auth-Token": _token(cloud)}
    return httpx.Client(base_url=cloud.endpoint("metric"), headers=headers, timeout=60)


def _hourly(api: httpx.Client, path: str, method: str, refresh: bool = False) -> list[Any]:
    params = {"granularity": "3600", "aggregation": method, "refresh": str(refresh).lower()}
    resp = api.get(path, params=params)
    assert resp.status_code == 200, resp.text
    return [value for _, _, value in resp.json()]


def _status(api: httpx.Client) -> dict[str, Any]:
    resp = api.get("/v1/status")
    assert resp.status_code == 200, resp.text
    found: dict[str, Any] = resp.json()
    return found


def test_backlog_survives_kill_and_is_aggregated_once(tmp_path: Path) -> None:
    cloud = CloudProcess(tmp_path / "state", ["identity", "metric"],
                         "[metric]\nworkers = 0\nnotification_agent = false\n")  # fmt: skip
    cloud.start()
    try:
        api = _client(cloud)
        made = [api.post("/v1/metric", json={"archive_policy_name": "medium"}) for _ in "ab"]
        ids = [m.json()["id"] for m in made]
        resource = api.post("/v1/resource/generic", json={
            "id": "7d1c0a5e-0000-4000-8000-0000000000c1", "metrics": {"load": {
                "archive_policy_name": "medium"}}}).json()  # fmt: skip
        paths = [*(f"/v1/metric/{i}/measures" for i in ids),
                 f"/v1/resource/generic/{resource['id']}/metric/load/measures"]  # fmt: skip
        for batch in range(BATCHES):  # value i at T0 + i seconds, 500 in one hour
            body = [{"timestamp": T0 + i, "value": i}
                    for i in range(batch * PER_BATCH, (batch + 1) * PER_BATCH)]  # fmt: skip
            for path in paths:
                assert api.post(path, json=body).status_code == 202
        # no worker here: all of it waits, per metric, and reads show nothing yet
        queued = _status(api)
        assert queued["storage"]["summary"] == {"metrics": 3, "measures": 3 * 500}
        assert queued["storage"]["measures_to_process"][ids[0]] == 500
        assert queued["metricd"]["processors"] == []
        assert _hourly(api, paths[0], "count") == []
        # refresh aggregates that metric's backlog before answering
        assert _hourly(api, paths[0], "count", refresh=True) == [500]
        assert _status(api)["storage"]["summary"] == {"metrics": 2, "measures": 2 * 500}
        api.close()
        cloud.stop(signal.SIGKILL)

        cloud.conf_file.write_text(
            cloud.conf_file.read_text().replace("workers = 0", "workers = 2")
        )
        cloud.start()
        api = _client(cloud)
        deadline = time.monotonic() + 30
        while (summary := _status(api)["storage"]["summary"])["measures"]:
            assert time.monotonic() < deadline, summary
            time.sleep(0.1)
        assert summary == {"metrics": 0, "measures": 0}
        assert len(_status(api)["metricd"]["processors"]) == 1
        total = sum(range(BATCHES * PER_BATCH))  # 124750
        for path in paths:  # each measure counted exactly once
            assert _hourly(api, path, "count") == [500]
            assert _hourly(api, path, "sum") == [total]
            assert _hourly(api, path, "max") == [499]
        # posted now, a worker aggregates it within its delay (no refresh)
        assert api.post(paths[1], json=[{"timestamp": T0 + 600, "value": 1000}]).status_code == 202
        deadline = time.monotonic() + 5
        while _hourly(api, paths[1], "count") != [501]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert _hourly(api, paths[1], "sum") == [total + 1000]
        api.close()
    finally:
        cloud.stop()
