"""Gnocchi's resource query language: the JSON form (``{"=": {"project_id": "p"}}``,
``{"and": [...]}``, ``{"not": {...}}``, ``{"in": {"id": [...]}}``) and the string form
gnocchiclient sends as ``filter=`` (``project_id=p and not (flavor_id!="1")``), parsed
into the JSON form. :func:`matcher` turns a query into a predicate over a resource's
values, each query value coerced to the attribute's type (datetimes compared as epoch
seconds, ``id`` mapped as resource ids are); comparisons with a null value are false, as
in SQL. The query is evaluated over the visible rows of the type, not in SQL.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from tinystack.common.exceptions import BadRequest
from tinystack.common.rpc.payload import JSON
from tinystack.common.timeutils import parse_isotime
from tinystack.metric import models
from tinystack.metric.services import _rows

Query = dict[str, JSON]
Values = dict[str, object]
Predicate = Callable[[Values], bool]

#: every spelling of an operator -> its canonical name
OPERATORS = {
    "=": "=", "==": "=", "eq": "=",
    "!=": "!=", "ne": "!=", "≠": "!=",
    "<": "<", "lt": "<", "<=": "<=", "le": "<=", "≤": "<=",
    ">": ">", "gt": ">", ">=": ">=", "ge": ">=", "≥": ">=",
    "in": "in", "like": "like",
}  # fmt: skip
_JOINERS = {"and": "and", "∧": "and", "or": "or", "∨": "or"}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}
#: the attributes every resource has, and their types
COMMON = {
    "id": "uuid", "original_resource_id": "string", "type": "string",
    "project_id": "string", "user_id": "string", "created_by_project_id": "string",
    "created_by_user_id": "string", "creator": "string", "started_at": "datetime",
    "ended_at": "datetime", "revision_start": "datetime", "revision_end": "datetime",
}  # fmt: skip

_TOKEN = re.compile(
    r"""\s*(?:(?P<q>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<op>>=|<=|!=|==|=|<|>|≠|≥|≤)"""
    r"""|(?P<p>[()\[\],])|(?P<w>[^\s()\[\],=<>!"'≠≥≤]+))"""
)
_NUMBER = re.compile(r"[+-]?\d+(\.\d*)?([eE][+-]?\d+)?$")
_NULL = ("None", "none", "null")


def _tokens(text: str) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    pos, text = 0, text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise BadRequest(f"Invalid filter: {text!r} at {pos}")
        pos = m.end()
        if m["q"] is not None:
            found.append(("value", re.sub(r"\\(.)", r"\1", m["q"][1:-1])))
        elif m["op"] is not None:
            found.append(("op", m["op"]))
        elif m["p"] is not None:
            found.append((m["p"], m["p"]))
        else:
            found.append(("word", m["w"]))
    return found


def _literal(word: str) -> Any:
    if word in _NULL:
        return None
    if word in ("true", "True", "false", "False"):
        return word.lower() == "true"
    if _NUMBER.match(word):
        return float(word)
    return word


def parse_filter(text: str) -> Query:
    """The string form (``filter=``) as the JSON form."""
    tokens = _tokens(text)
    pos = 0

    def peek() -> tuple[str, Any] | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> tuple[str, Any]:
        nonlocal pos
        if pos >= len(tokens):
            raise BadRequest(f"Invalid filter: {text!r} ends early")
        pos += 1
        return tokens[pos - 1]

    def inner_only(parts: list[JSON]) -> Query:
        only = parts[0]
        assert isinstance(only, dict)
        return only

    def joined(joiner: str, inner: Callable[[], Query]) -> Query:
        parts: list[JSON] = [inner()]
        while (tok := peek()) is not None and tok[0] == "word" and _JOINERS.get(tok[1]) == joiner:
            take()
            parts.append(inner())
        return {joiner: parts} if len(parts) > 1 else inner_only(parts)

    def term() -> Any:
        kind, value = take()
        if kind == "[":
            items = []
            while (tok := peek()) is not None and tok[0] != "]":
                items.append(term())
                if (tok := peek()) is not None and tok[0] == ",":
                    take()
            take()
            return items
        if kind == "value":
            return value
        if kind != "word":
            raise BadRequest(f"Invalid filter: unexpected {value!r} in {text!r}")
        return _literal(value)

    def atom() -> Query:
        tok = peek()
        if tok is not None and tok == ("word", "not"):
            take()
            return {"not": atom()}
        if tok is not None and tok[0] == "(":
            take()
            inner = joined("or", lambda: joined("and", atom))
            if take()[0] != ")":
                raise BadRequest(f"Invalid filter: missing ')' in {text!r}")
            return inner
        kind, name = take()
        op_kind, op = take()
        if kind != "word" or op_kind not in ("op", "word") or op not in OPERATORS:
            raise BadRequest(f"Invalid filter: expected <attribute> <operator> <value> in {text!r}")
        value: JSON = term()
        return {op: {name: value}}

    query = joined("or", lambda: joined("and", atom))
    if pos != len(tokens):
        raise BadRequest(f"Invalid filter: trailing input in {text!r}")
    return query


def values_of(row: models.Resource) -> Values:
    """A resource's values as the query language sees them."""
    return {
        "id": row.id, "original_resource_id": row.original_resource_id, "type": row.type,
        "project_id": row.project_id, "user_id": row.user_id,
        "created_by_project_id": row.created_by_project_id,
        "created_by_user_id": row.created_by_user_id,
        "creator": f"{row.created_by_user_id}:{row.created_by_project_id}",
        "started_at": _epoch(row.started_at), "ended_at": _epoch(row.ended_at),
        "revision_start": _epoch(row.revision_start), "revision_end": None,
        **row.attributes,
    }  # fmt: skip


def _epoch(when: datetime | None) -> float | None:
    return None if when is None else when.replace(tzinfo=UTC).timestamp()


def _coerce(kind: str, name: str, value: Any, creator: str) -> Any:
    if value is None:
        return None
    try:
        if kind == "datetime":
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
            return parse_isotime(str(value)).timestamp()
        if kind == "number":
            return float(value)
        if kind == "bool":
            return value if isinstance(value, bool) else str(value).lower() == "true"
        if isinstance(value, float) and math.isfinite(value) and value == int(value):
            value = int(value)
        if name == "id":
            return _rows.resource_uuid(str(value), creator)
        return str(value).lower() if kind == "uuid" else str(value)
    except (ValueError, TypeError, BadRequest):
        raise BadRequest(f"Invalid input: {value!r} is not a valid {kind} for {name}") from None


def _like(pattern: str) -> re.Pattern[str]:
    parts = ("." if c == "_" else ".*" if c == "%" else re.escape(c) for c in pattern)
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


def _comparison(op: str, name: str, kind: str, value: Any, creator: str) -> Predicate:
    if op == "in":
        if not isinstance(value, list):
            raise BadRequest(f"Invalid input: 'in' needs a list for {name}")
        wanted = {_coerce(kind, name, v, creator) for v in value}
        return lambda vals: vals.get(name) is not None and vals.get(name) in wanted
    if op == "like":
        pattern = _like(str(value))
        return lambda vals: vals.get(name) is not None and bool(pattern.match(str(vals[name])))
    target = _coerce(kind, name, value, creator)
    if target is None:
        if op not in ("=", "!="):
            raise BadRequest(f"Invalid input: null compared with {op} for {name}")
        return (lambda vals: vals.get(name) is None) if op == "=" else (
            lambda vals: vals.get(name) is not None)  # fmt: skip
    compare = _COMPARE[op]

    def check(vals: Values) -> bool:
        mine = vals.get(name)
        try:
            return mine is not None and compare(mine, target)
        except TypeError:
            return False

    return check


def matcher(query: object, attributes: Mapping[str, Mapping[str, JSON]], creator: str) -> Predicate:
    """``query`` (the JSON form) as a predicate over :func:`values_of`; 400 if it is bad
    or names an attribute the type does not have."""
    if not isinstance(query, dict) or len(query) != 1:
        raise BadRequest(f"Invalid input: a query is one operator, got {query!r}")
    ((op, arg),) = query.items()
    if op == "not":
        inner = matcher(arg, attributes, creator)
        return lambda vals: not inner(vals)
    if op in _JOINERS:
        if not isinstance(arg, list) or not arg:
            raise BadRequest(f"Invalid input: '{op}' needs a list of queries")
        parts = [matcher(q, attributes, creator) for q in arg]
        if _JOINERS[op] == "and":
            return lambda vals: all(p(vals) for p in parts)
        return lambda vals: any(p(vals) for p in parts)
    if op not in OPERATORS or not isinstance(arg, dict) or len(arg) != 1:
        raise BadRequest(f"Invalid input: unknown operator or bad operand in {query!r}")
    ((name, value),) = arg.items()
    kind = COMMON.get(name) or str(attributes.get(name, {}).get("type", ""))
    if not kind:
        raise BadRequest(f"Invalid input: unknown attribute {name!r}")
    return _comparison(OPERATORS[op], name, kind, value, creator)


def accepts(session: Session, rtype: str, query: object, creator: str) -> Predicate:
    """:func:`matcher` of ``query`` for resources of ``rtype`` (None or ``{}``: every one)."""
    if query is None or query == {}:
        return lambda vals: True
    return matcher(query, dict(_rows.resource_type(session, rtype).attributes), creator)
