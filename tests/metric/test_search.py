"""The metric service's resource query language without a cloud: the string form
parsed into the JSON form as Gnocchi parses it, and the JSON form matched against
resources' values (types coerced, nulls as in SQL, bad queries refused with 400)."""

from __future__ import annotations

from typing import Any

import pytest

from tinystack.common.exceptions import BadRequest
from tinystack.metric.services import search

ATTRS = {"flavor_id": {"type": "string"}, "memory": {"type": "number"},
         "host": {"type": "string"}}  # fmt: skip
R1 = "a3b5f1c6-0000-4000-8000-000000000001"
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def _values(**over: Any) -> dict[str, Any]:
    base = {"id": R1, "project_id": "p1", "user_id": "u1", "created_by_project_id": "p1",
            "started_at": T0, "ended_at": None, "flavor_id": "1", "memory": 512.0,
            "host": "compute-1"}  # fmt: skip
    return {**base, **over}


def _match(query: Any, **over: Any) -> bool:
    return search.matcher(query, ATTRS, "u1:p1")(_values(**over))


def test_string_form_parses_as_gnocchi_does() -> None:
    assert search.parse_filter("project_id=p1") == {"=": {"project_id": "p1"}}
    assert search.parse_filter('not (flavor_id!="1" and memory>=24)') == {
        "not": {"and": [{"!=": {"flavor_id": "1"}}, {">=": {"memory": 24.0}}]}
    }
    assert search.parse_filter("a=1 or b=2 and c=3") == {
        "or": [{"=": {"a": 1.0}}, {"and": [{"=": {"b": 2.0}}, {"=": {"c": 3.0}}]}]
    }
    assert search.parse_filter("ended_at = null ∧ host like 'comp%'") == {
        "and": [{"=": {"ended_at": None}}, {"like": {"host": "comp%"}}]
    }
    assert search.parse_filter("id in [x, 'y']") == {"in": {"id": ["x", "y"]}}
    assert search.parse_filter("memory ge 2") == {"ge": {"memory": 2.0}}
    for bad in ("project_id=", "(a=1", "a=1 b=2", "=1", "a ~ 1"):
        with pytest.raises(BadRequest):
            search.parse_filter(bad)


def test_json_form_matches_resources() -> None:
    assert _match({"=": {"project_id": "p1"}})
    assert not _match({"=": {"project_id": "p2"}})
    assert _match(search.parse_filter("flavor_id=1"))  # a number given for a string
    assert _match({">": {"memory": "256"}}) and not _match({"<": {"memory": 256}})
    assert _match({">=": {"started_at": "2026-01-01T00:00:00+00:00"}})
    assert not _match({">": {"started_at": "2026-01-01T00:00:00Z"}})
    assert _match({"=": {"ended_at": None}}) and not _match({"!=": {"ended_at": None}})
    assert not _match({"<": {"ended_at": "2027-01-01T00:00:00Z"}})  # null never compares
    assert _match({"in": {"id": [R1.upper(), "other"]}})
    assert _match({"like": {"host": "comp%-_"}}) and not _match({"like": {"host": "x%"}})
    assert _match({"and": [{"=": {"user_id": "u1"}}, {"not": {"=": {"host": "h"}}}]})
    assert _match({"or": [{"=": {"user_id": "nobody"}}, {"eq": {"memory": 512}}]})
    assert not _match({"=": {"host": "compute-1"}}, host=None)
    bad: object
    for bad in ({"=": {"color": "red"}}, {"~": {"host": "x"}}, {"and": []},
                {">": {"started_at": "yesterday"}}, {"in": {"id": "x"}}, ["="],
                {"<": {"memory": None}}):  # fmt: skip
        with pytest.raises(BadRequest):
            _match(bad)
