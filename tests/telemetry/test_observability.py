"""Every API's ``/metrics`` page parses with Prometheus' own parser and counts the
requests of its service by route template and status (with the process's database
statements); every request, a refused one too, leaves an access-log line
naming its request id."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from prometheus_client.parser import text_string_to_metric_families

from tests.telemetry.conftest import Api, Env

HTTP = "tinystack_http_request_duration_seconds"
TYPES = {"identity": "identity", "compute": "compute", "network": "network",
         "block-storage": "volume", "image": "image", "placement": "placement",
         "alarming": "alarm", "metric": "metric"}  # fmt: skip


def _families(page: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return found


def test_every_api_serves_its_metrics_and_logs_each_request(env: Env) -> None:
    refused = env.compute.get("/servers/tsf-nope", 404)
    request_id = refused.headers["x-openstack-request-id"]
    for service_type, service in TYPES.items():
        endpoint = urlsplit(env.cloud.endpoint(service_type))
        api = Api(f"{endpoint.scheme}://{endpoint.netloc}", env.token)  # the server's root
        page = api.get("/metrics")
        assert page.headers["content-type"].startswith("text/plain; version=0.0.4")
        counts = _families(page.text)[f"{HTTP}_count"]
        assert counts, service
        if service == "compute":
            mine = [(labels, n) for labels, n in counts
                    if labels["service"] == "compute" and labels["status"] == "404"
                    and labels["route"] == "/servers/{server_id}"]  # fmt: skip
            assert mine and mine[0][1] >= 1, counts
    families = _families(page.text)
    db = families["tinystack_db_statement_duration_seconds_count"]
    assert {"SELECT", "INSERT"} <= {labels["statement"] for labels, _ in db}
    deadline = time.monotonic() + 5
    while request_id not in env.cloud.log_file.read_text():
        assert time.monotonic() < deadline, "no access-log line for the refused request"
        time.sleep(0.1)
    line = next(ln for ln in env.cloud.log_file.read_text().splitlines() if request_id in ln)
    assert " GET /v2.1/servers/tsf-nope 404 " in line and "project=" in line, line
