"""The process's Prometheus metrics: latency histograms of API requests (by service,
method, route template and status), database statements and RPC calls, rendered in the
text exposition format (0.0.4) for every API's ``GET /metrics``.

One registry per process: in the all-in-one cloud every service's page shows every
service's requests, labelled with the service.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: seconds; Prometheus' default buckets
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class _Series:
    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Histograms:
    """Latency histograms by label set, thread-safe, rendered in the text format."""

    def __init__(self, name: str, help_text: str, labels: tuple[str, ...]) -> None:
        self.name, self.help, self.labels = name, help_text, labels
        self._lock = threading.Lock()
        self._series: dict[tuple[str, ...], _Series] = {}

    def observe(self, values: tuple[str, ...], seconds: float) -> None:
        with self._lock:
            self._series.setdefault(values, _Series()).observe(seconds)

    def lines(self) -> Iterator[str]:
        with self._lock:
            series = {k: (list(v.counts), v.total) for k, v in self._series.items()}
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        for values, (counts, total) in sorted(series.items()):
            labels = ",".join(
                f'{k}="{_label(v)}"' for k, v in zip(self.labels, values, strict=True)
            )
            running = 0
            for bound, count in zip((*BUCKETS, float("inf")), counts, strict=True):
                running += count
                le = "+Inf" if bound == float("inf") else repr(bound)
                yield f'{self.name}_bucket{{{labels},le="{le}"}} {running}'
            yield f"{self.name}_sum{{{labels}}} {total!r}"
            yield f"{self.name}_count{{{labels}}} {running}"


HTTP = Histograms(
    "tinystack_http_request_duration_seconds",
    "API requests by service, method, route template and status.",
    ("service", "method", "route", "status"),
)
DB = Histograms(
    "tinystack_db_statement_duration_seconds",
    "Database statements by database (service) and kind.",
    ("database", "statement"),
)
RPC = Histograms(
    "tinystack_rpc_call_duration_seconds",
    "RPC calls (waiting for the reply) by topic and method; casts are not timed.",
    ("topic", "method"),
)


def exposition() -> str:
    """This process's metrics in Prometheus' text format (0.0.4)."""
    return "\n".join(line for h in (HTTP, DB, RPC) for line in h.lines()) + "\n"
