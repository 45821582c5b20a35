"""FastAPI dependencies of the network handlers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from tinystack.network.services.deps import Deps


def _deps(request: Request) -> Deps:
    deps: Deps = request.app.state.network
    return deps


DepsDep = Annotated[Deps, Depends(_deps)]
