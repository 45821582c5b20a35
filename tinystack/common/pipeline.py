"""Ceilometer's pipeline: which meters go where, transformed on the way.

A ``pipeline.yaml`` in Ceilometer's format names ``sources`` (meter patterns, ``*``
wildcards, ``!`` excludes, and the sinks they feed) and ``sinks`` (``transformers``
applied in order, then ``publishers``)::

    sources:
      - name: cpu_source
        meters: ["cpu"]
        sinks: [cpu_sink]
    sinks:
      - name: cpu_sink
        transformers:
          - name: rate_of_change
            parameters: {target: {name: cpu_util, unit: "%", type: gauge,
                                  scale: "100.0 / (10**9 * (resource_metadata.cpu_number or 1))"}}
        publishers: [gnocchi://?archive_policy=low]

Transformers: ``unit_conversion`` (``target``: ``name``, ``unit``, ``scale`` — a number
or an arithmetic expression of ``volume``), ``rate_of_change`` (the change per second
from the previous sample of the same meter and resource, then ``scale``: a number or an
expression of numbers only; ``resource_metadata`` terms are taken as 1) and ``delta``
(the change from the previous sample); a resource that sent nothing for ``STALE`` is
forgotten (a deleted guest's last sample is not kept for ever). Publishers:
``gnocchi://`` (the metric store, ``?archive_policy=``), ``file:///path`` (one JSON line
per sample) and ``http(s)://…`` (a JSON list POSTed). Without a file, everything goes to ``gnocchi://``.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import logging
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import yaml

from tinystack.common.clients.metric import MetricClient, Sample

LOG = logging.getLogger(__name__)
#: a transformer forgets a (meter, resource)'s previous sample after this long without one
STALE = timedelta(hours=1)
DEFAULT = {"sources": [{"name": "all", "meters": ["*"], "sinks": ["metric"]}],
           "sinks": [{"name": "metric", "publishers": ["gnocchi://"]}]}  # fmt: skip


class PipelineError(ValueError):
    """The pipeline definition is not one this cloud can run."""


_OPS: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow,
}  # fmt: skip


def _arith(node: ast.AST, volume: float) -> float:
    """A number from an arithmetic expression of numbers and ``volume`` (``x or y``
    takes ``x``; ``resource_metadata.*`` is 1: this pipeline carries no metadata)."""
    if isinstance(node, ast.Expression):
        return _arith(node.body, volume)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name) and node.id == "volume":
        return volume
    if isinstance(node, ast.Attribute) and ast.unparse(node).startswith("resource_metadata."):
        return 1.0
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_arith(node.left, volume), _arith(node.right, volume))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_arith(node.operand, volume)
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
        return _arith(node.values[0], volume)
    raise PipelineError(f"unsupported scale expression: {ast.unparse(node)}")


def _scale(text: object) -> Callable[[float], float]:
    if text is None:
        return lambda volume: volume
    try:
        tree = ast.parse(str(text), mode="eval")
    except SyntaxError:
        raise PipelineError(f"bad scale expression: {text}") from None
    _arith(tree, 1.0)  # refuse what it cannot compute now, not at the first sample
    uses_volume = any(isinstance(n, ast.Name) and n.id == "volume" for n in ast.walk(tree))
    if uses_volume:
        return lambda volume: _arith(tree, volume)
    return lambda volume: volume * _arith(tree, volume)


@dataclass
class _Transformer:
    kind: str
    name: str | None
    unit: str | None
    scale: Callable[[float], float]
    previous: dict[tuple[str, str], Sample]
    #: when ``previous`` was last swept of stale entries (sample time)
    swept: datetime | None = field(default=None)

    def __call__(self, sample: Sample) -> Sample | None:
        value = sample.value
        if self.kind in ("rate_of_change", "delta"):
            key = (sample.name, sample.resource_id)
            before, self.previous[key] = self.previous.get(key), sample
            self._sweep(sample.timestamp)
            if before is None:
                return None
            seconds = (sample.timestamp - before.timestamp).total_seconds()
            if seconds <= 0:
                return None
            change = value - before.value if value >= before.value else value  # a reset
            value = change / seconds if self.kind == "rate_of_change" else change
        value = self.scale(value)
        return replace(sample, name=self.name or sample.name, unit=self.unit or sample.unit,
                       value=value)  # fmt: skip

    def _sweep(self, now: datetime) -> None:
        """Drop the previous samples older than ``STALE``, at most once per ``STALE``."""
        if self.swept is None:
            self.swept = now
        elif now - self.swept >= STALE:
            self.previous = {k: v for k, v in self.previous.items() if now - v.timestamp < STALE}
            self.swept = now


def _transformer(spec: dict[str, Any]) -> _Transformer:
    kind = str(spec.get("name"))
    if kind not in ("unit_conversion", "rate_of_change", "delta"):
        raise PipelineError(f"unknown transformer {kind}")
    params = spec.get("parameters") or {}
    target = params.get("target", {}) if isinstance(params, dict) else {}
    if not isinstance(target, dict):
        raise PipelineError(f"{kind}: target must be a mapping")
    return _Transformer(
        kind, target.get("name"), target.get("unit"), _scale(target.get("scale")), {}
    )


class Pipeline:
    """Routes samples from the sources that match them through their sinks."""

    def __init__(self, definition: dict[str, Any], client: MetricClient,
                 archive_policy: str) -> None:  # fmt: skip
        self.client, self.archive_policy = client, archive_policy
        sinks = {str(sink["name"]): _sink(sink) for sink in _list(definition, "sinks")}
        self.routes: list[tuple[tuple[str, ...], list[_Transformer], list[str]]] = []
        for source in _list(definition, "sources"):
            patterns = tuple(str(m) for m in source.get("meters") or ["*"])
            for sink_name in source.get("sinks") or []:
                if sink_name not in sinks:
                    raise PipelineError(f"source {source.get('name')}: no sink {sink_name}")
                # each source feeds its own copy: rates are kept per source and sink
                transformers = [_transformer(t) for t in sinks[sink_name][0]]
                self.routes.append((patterns, transformers, sinks[sink_name][1]))

    @classmethod
    def load(cls, path: str, client: MetricClient, archive_policy: str) -> Pipeline:
        definition = yaml.safe_load(Path(path).read_text()) if path else DEFAULT
        if not isinstance(definition, dict):
            raise PipelineError(f"{path}: not a pipeline definition")
        return cls(definition, client, archive_policy)

    def publish(self, samples: Sequence[Sample]) -> None:
        for patterns, transformers, publishers in self.routes:
            routed = []
            for sample in samples:
                if not _matches(patterns, sample.name):
                    continue
                current: Sample | None = sample
                for transform in transformers:
                    current = transform(current) if current is not None else None
                if current is not None:
                    routed.append(current)
            if routed:
                for publisher in publishers:
                    self._send(publisher, routed)

    def _send(self, publisher: str, samples: list[Sample]) -> None:
        url = urlsplit(publisher)
        if url.scheme == "gnocchi":
            policy = parse_qs(url.query).get("archive_policy", [self.archive_policy])[-1]
            self.client.push(samples, policy)
            return
        rows = [{"counter_name": s.name, "counter_unit": s.unit, "counter_volume": s.value,
                 "resource_id": s.resource_id, "timestamp": s.timestamp.isoformat()}
                for s in samples]  # fmt: skip
        if url.scheme == "file":
            with open(url.path, "a") as out:
                out.writelines(json.dumps(row) + "\n" for row in rows)
            return
        try:
            httpx.post(publisher, json=rows, timeout=10).raise_for_status()
        except httpx.HTTPError as exc:
            LOG.warning("pipeline: publishing to %s failed: %s", url.netloc, exc)


def _sink(sink: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """A sink's transformer specs and publishers, checked."""
    specs = [t if isinstance(t, dict) else {} for t in sink.get("transformers") or []]
    for spec in specs:
        _transformer(spec)
    publishers = [str(p) for p in sink.get("publishers") or []]
    for publisher in publishers:
        if urlsplit(publisher).scheme not in ("gnocchi", "file", "http", "https"):
            raise PipelineError(f"unknown publisher {publisher}")
    return specs, publishers


def _list(definition: dict[str, Any], key: str) -> list[dict[str, Any]]:
    found = definition.get(key) or []
    if not isinstance(found, list) or not all(isinstance(i, dict) for i in found):
        raise PipelineError(f"{key} must be a list of mappings")
    return found


def _matches(patterns: tuple[str, ...], name: str) -> bool:
    excluded = any(fnmatch.fnmatch(name, p[1:]) for p in patterns if p.startswith("!"))
    included = [p for p in patterns if not p.startswith("!")]
    return not excluded and (not included or any(fnmatch.fnmatch(name, p) for p in included))
