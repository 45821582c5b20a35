"""FastAPI dependencies of the metric handlers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from tinystack.common.exceptions import BadRequest
from tinystack.metric.services.deps import Deps

_TRUE, _FALSE = ("y", "yes", "t", "true", "on", "1"), ("n", "no", "f", "false", "off", "0")


def _deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


DepsDep = Annotated[Deps, Depends(_deps)]


def flag(request: Request, name: str, default: bool = False) -> bool:
    """A boolean query parameter, spelled as Gnocchi accepts it (``refresh``, ``details``)."""
    value = request.query_params.get(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise BadRequest(f"Invalid input: unable to parse `{name}`: {value!r} is not a boolean")
