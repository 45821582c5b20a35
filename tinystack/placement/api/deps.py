"""FastAPI dependencies of the placement handlers: the service layer's :class:`Deps`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from tinystack.placement.services.deps import Deps

#: where the app keeps its one Deps (set by ``service.py``)
STATE_KEY = "placement_deps"


def get_deps(request: Request) -> Deps:
    deps: Deps = getattr(request.app.state, STATE_KEY)
    return deps


async def _deps(request: Request) -> Deps:
    return get_deps(request)  # async: resolved on the event loop, no threadpool hop


DepsDep = Annotated[Deps, Depends(_deps)]
