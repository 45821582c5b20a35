"""Login, logout, profile and project switching (Skyline's ``login.py``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from tinystack.dashboard.api import deps as d
from tinystack.dashboard.api.schemas import Credential, SwitchProject
from tinystack.dashboard.exception import SessionInvalid
from tinystack.dashboard.services import sessions
from tinystack.dashboard.services.deps import Deps
from tinystack.dashboard.services.records import Profile


def _answer(request: Request, deps: Deps, profile: Profile) -> JSONResponse:
    response = JSONResponse(dict(profile.document))
    d.set_session(response, deps, profile.session, request.url.scheme == "https")
    return response


def login(request: Request, deps: d.DepsDep, body: Credential) -> JSONResponse:
    d.same_origin(request)
    profile = sessions.login(deps, body.username, body.password, body.domain, body.region)
    return _answer(request, deps, profile)


def get_profile(deps: d.DepsDep, session: d.SessionDep) -> dict[str, Any]:
    return dict(sessions.profile(deps, session).document)


def switch_project(
    request: Request, deps: d.DepsDep, session: d.SessionDep, project_id: str,
    body: SwitchProject | None = None,
) -> JSONResponse:  # fmt: skip
    profile = sessions.switch_project(deps, session, project_id)
    return _answer(request, deps, profile)


def logout(request: Request, deps: d.DepsDep) -> JSONResponse:
    d.same_origin(request)
    try:
        session, _ = sessions.check(deps, request.cookies.get(d.COOKIE))
    except SessionInvalid:
        session = None
    if session is not None:
        sessions.logout(deps, session)
    response = JSONResponse({"message": "Logout OK"})
    d.clear_session(response)
    return response
