"""Ceilometer's pipeline without a cloud: meters routed by pattern (with excludes),
unit conversion, rate of change (a counter reset too), delta, file and metric-store
publishers, and definitions it cannot run refused when loaded."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tinystack.common.clients.metric import MetricClient, Sample
from tinystack.common.pipeline import Pipeline, PipelineError

T0 = datetime(2026, 1, 1)


class Store(MetricClient):
    def __init__(self) -> None:
        self.pushed: list[tuple[str, list[Sample]]] = []

    def push(self, samples: list[Sample], archive_policy: str) -> None:
        self.pushed.append((archive_policy, list(samples)))


def _sample(name: str, value: float, seconds: int, resource: str = "r1") -> Sample:
    return Sample(
        resource, name, "ns" if name == "cpu" else "B", value, T0 + timedelta(seconds=seconds)
    )


def test_routes_transforms_and_publishes(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    definition = {
        "sources": [
            {"name": "most", "meters": ["*", "!cpu", "!disk.*"], "sinks": ["plain"]},
            {"name": "cpu", "meters": ["cpu"], "sinks": ["util"]},
            {"name": "disk", "meters": ["disk.device.*"], "sinks": ["kib", "growth"]},
        ],
        "sinks": [
            {"name": "plain", "publishers": ["gnocchi://"]},
            {"name": "util", "publishers": [f"file://{out}", "gnocchi://?archive_policy=high"],
             "transformers": [{"name": "rate_of_change", "parameters": {"target": {
                 "name": "cpu_util", "unit": "%",
                 "scale": "100.0 / (10**9 * (resource_metadata.cpu_number or 1))"}}}]},
            {"name": "kib", "publishers": ["gnocchi://"],
             "transformers": [{"name": "unit_conversion", "parameters": {"target": {
                 "name": "disk.kilobytes", "unit": "KiB", "scale": "volume / 1024"}}}]},
            {"name": "growth", "publishers": ["gnocchi://"],
             "transformers": [{"name": "delta", "parameters": {"target": {"name": "disk.grew"}}}]},
        ],
    }  # fmt: skip
    store = Store()
    pipeline = Pipeline(definition, store, "low")
    pipeline.publish([_sample("cpu", 1e9, 0), _sample("memory", 512, 0),
                      _sample("disk.device.read.bytes", 2048, 0)])  # fmt: skip
    pipeline.publish([_sample("cpu", 3e9, 10), _sample("disk.device.read.bytes", 4096, 10)])
    pipeline.publish([_sample("cpu", 0.5e9, 20)])  # the guest rebooted: the counter reset
    got = [(policy, s.name, s.unit, s.value) for policy, batch in store.pushed for s in batch]
    assert ("low", "memory", "B", 512) in got
    assert ("low", "disk.kilobytes", "KiB", 2.0) in got and (
        "low",
        "disk.kilobytes",
        "KiB",
        4.0,
    ) in got
    assert ("low", "disk.grew", "B", 2048) in got
    utils = [v for policy, name, _, v in got if name == "cpu_util" and policy == "high"]
    assert utils == [pytest.approx(20.0), pytest.approx(5.0)]
    assert not any(name in ("cpu", "disk.device.read.bytes") for _, name, _, _ in got)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["counter_name"] for r in rows] == ["cpu_util", "cpu_util"]
    assert rows[0]["counter_volume"] == pytest.approx(20.0) and rows[0]["resource_id"] == "r1"


def test_without_a_file_everything_goes_to_the_store() -> None:
    store = Store()
    Pipeline.load("", store, "medium").publish([_sample("cpu", 1, 0)])
    assert [(p, s.name) for p, batch in store.pushed for s in batch] == [("medium", "cpu")]


@pytest.mark.parametrize("definition", [
    {"sources": [{"name": "a", "meters": ["*"], "sinks": ["nope"]}], "sinks": []},
    {"sources": [], "sinks": [{"name": "s", "publishers": ["kafka://x"]}]},
    {"sources": [], "sinks": [{"name": "s", "transformers": [{"name": "accumulator"}]}]},
    {"sources": [], "sinks": [{"name": "s", "transformers": [{"name": "unit_conversion",
                               "parameters": {"target": {"scale": "__import__('os')"}}}]}]},
    {"sources": "everything"},
])  # fmt: skip
def test_bad_definitions_are_refused(definition: dict[str, object]) -> None:
    with pytest.raises(PipelineError):
        Pipeline(definition, Store(), "low")


def test_a_silent_resource_is_forgotten() -> None:
    """A deleted guest's last counter is not kept for ever: after an hour without a
    sample, the next one starts over (no rate), while a live resource keeps its rate."""
    definition = {
        "sources": [{"name": "cpu", "meters": ["cpu"], "sinks": ["util"]}],
        "sinks": [{"name": "util", "publishers": ["gnocchi://"],
                   "transformers": [{"name": "rate_of_change"}]}],
    }  # fmt: skip
    store = Store()
    pipeline = Pipeline(definition, store, "low")
    pipeline.publish([_sample("cpu", 1, 0, "gone"), _sample("cpu", 1, 0, "live")])
    for minute in range(1, 62):  # "live" reports every minute, "gone" never again
        pipeline.publish([_sample("cpu", 1 + minute * 60, minute * 60, "live")])
    pipeline.publish([_sample("cpu", 100, 62 * 60, "gone")])
    rates = {(s.resource_id, s.value) for _, batch in store.pushed for s in batch}
    assert ("live", 1.0) in rates
    assert not any(resource == "gone" for resource, _ in rates)
    (transformer,) = pipeline.routes[0][1]
    assert set(transformer.previous) == {("cpu", "gone"), ("cpu", "live")}
