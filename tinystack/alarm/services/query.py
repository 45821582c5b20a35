"""Aodh's complex queries (``POST /v2/query/alarms``, ``/v2/query/alarms/history``):
a JSON ``filter`` of ``and``/``or``/``not`` over comparisons (``=``, ``!=``, ``<``,
``<=``, ``>``, ``>=``, ``in``; also ``eq``, ``ne``, ``lt``, ``le``, ``gt``, ``ge``) of
one field each, an ``orderby`` list of ``{field: asc|desc}`` and a ``limit``,
evaluated over the records the caller may see."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tinystack.common.exceptions import BadRequest

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b, "eq": lambda a, b: a == b,
    "!=": lambda a, b: a != b, "ne": lambda a, b: a != b,
    "<": lambda a, b: a < b, "lt": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, "le": lambda a, b: a <= b,
    ">": lambda a, b: a > b, "gt": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "ge": lambda a, b: a >= b,
    "in": lambda a, b: a in b,
}  # fmt: skip
Predicate = Callable[[Mapping[str, Any]], bool]


def _load(text: object, what: str) -> Any:
    if text in (None, ""):
        return None
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        raise BadRequest(f"{what} is not valid JSON: {text}") from None


def _compare(op: str, operand: object, fields: Sequence[str]) -> Predicate:
    if not isinstance(operand, dict) or len(operand) != 1:
        raise BadRequest(f"Invalid filter: {op} needs one field and its value")
    (field, value), = operand.items()  # fmt: skip
    if field not in fields:
        raise BadRequest(f"Invalid filter: unknown field {field}; one of {list(fields)}")
    compare = _OPS[op]

    def test(row: Mapping[str, Any]) -> bool:
        try:
            return bool(compare(row.get(field), value))
        except TypeError:
            return False

    return test


def _predicate(node: object, fields: Sequence[str]) -> Predicate:
    if not isinstance(node, dict) or len(node) != 1:
        raise BadRequest(f"Invalid filter: {node}")
    (op, operand), = node.items()  # fmt: skip
    op = str(op).lower()
    if op in ("and", "or"):
        if not isinstance(operand, list) or not operand:
            raise BadRequest(f"Invalid filter: {op} needs a list")
        parts = [_predicate(p, fields) for p in operand]
        join = all if op == "and" else any
        return lambda row: join(p(row) for p in parts)
    if op == "not":
        inner = _predicate(operand, fields)
        return lambda row: not inner(row)
    if op not in _OPS:
        raise BadRequest(f"Invalid filter: unknown operator {op}")
    return _compare(op, operand, fields)


def run(
    rows: list[dict[str, object]], body: Mapping[str, object], fields: Sequence[str]
) -> list[dict[str, object]]:
    """The rows ``body`` selects, ordered and limited."""
    tree = _load(body.get("filter"), "filter")
    if tree is not None:
        keep = _predicate(tree, fields)
        rows = [r for r in rows if keep(r)]
    for item in reversed(_load(body.get("orderby"), "orderby") or []):
        if not isinstance(item, dict) or len(item) != 1:
            raise BadRequest(f"Invalid orderby: {item}")
        (field, direction), = item.items()  # fmt: skip
        if field not in fields or str(direction).lower() not in ("asc", "desc"):
            raise BadRequest(f"Invalid orderby: {item}")
        rows.sort(key=lambda r: (r.get(field) is None, str(r.get(field) or "")),
                  reverse=str(direction).lower() == "desc")  # fmt: skip
    limit = body.get("limit")
    if limit is not None:
        if not isinstance(limit, int) or isinstance(limit, bool) or limit <= 0:
            raise BadRequest("Limit should be positive")
        rows = rows[:limit]
    return rows
