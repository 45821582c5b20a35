"""``GET /metrics``: the latest samples in Prometheus' text exposition format (0.0.4),
then the process's own metrics (``common.metrics``), as on every API's page."""

from __future__ import annotations

from starlette.responses import Response

from tinystack.common import metrics as process_metrics
from tinystack.common.api.deps import ContextDep
from tinystack.metric.api.deps import DepsDep
from tinystack.metric.policies import exposition as rules
from tinystack.metric.services import exposition

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def metrics(ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(rules.GET, {})
    lines: list[str] = []
    current = ""
    for sample in exposition.latest(deps):
        if sample.family != current:
            current = sample.family
            lines.append(f"# TYPE {current} gauge")
        labels = ",".join(
            f'{k}="{_label(v)}"'
            for k, v in (
                ("resource_id", sample.resource_id),
                ("resource_type", sample.resource_type),
                ("project_id", sample.project_id),
                ("unit", sample.unit),
            )
        )
        lines.append(f"{current}{{{labels}}} {sample.value!r} {int(sample.timestamp * 1000)}")
    lines.append(process_metrics.exposition())
    return Response("\n".join(lines), media_type=CONTENT_TYPE)
