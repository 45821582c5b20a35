"""The route meta-test helper finds what it says it finds, on a small app."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

from tests import routecheck
from tests.routecheck import RouteRules


class Body(BaseModel):
    name: str


class NotFound(Exception):
    pass


def build() -> FastAPI:
    router = APIRouter()

    @router.get("/things/{thing_id}", openapi_extra={"x-policies": ["things:show"]})
    def show(thing_id: str) -> None: ...

    @router.get("/things/detail", openapi_extra={"x-policies": ["things:list"]})
    def detail() -> None: ...

    @router.post("/things", openapi_extra={"x-policies": ["things:create"]})
    def create(body: Body) -> None: ...

    @router.put("/things/{thing_id}", openapi_extra={"x-policies": ["things:nope"]})
    def update(thing_id: str) -> None: ...

    @router.get("/", openapi_extra={"x-public": True})
    def versions() -> None: ...

    @router.get("/gadgets")
    def gadgets(version: tuple[int, int] = (1, 0)) -> None:
        if version < (1, 5):
            raise NotFound("gone")

    @router.get("/widgets", openapi_extra={"x-openstack-microversion": {"min": "1.9"}})
    def widgets() -> None: ...

    @router.delete("/widgets")
    def delete_widgets() -> None: ...

    @router.delete("/widgets")
    def delete_widgets_again() -> None: ...

    app = FastAPI()
    app.include_router(router, prefix="/v1")
    return app


RULES = RouteRules(
    rules=frozenset({"things:show", "things:list", "things:create"}),
    versions=["1.0", "1.5"],
)


def test_endpoints_are_flattened_with_the_include_prefix() -> None:
    paths = [str(ep) for ep in routecheck.endpoints(build())]
    assert "GET /v1/things/{thing_id}" in paths
    assert "POST /v1/things" in paths


def test_policies() -> None:
    problems = routecheck.policy_problems(build(), RULES)
    assert problems == [
        "PUT /v1/things/{thing_id}: policy rule 'things:nope' is not registered",
        "GET /v1/gadgets: declares no policy rule (x-policies) and is not public",
        "GET /v1/widgets: declares no policy rule (x-policies) and is not public",
        "DELETE /v1/widgets: declares no policy rule (x-policies) and is not public",
        "DELETE /v1/widgets: declares no policy rule (x-policies) and is not public",
    ]
    allowed = RouteRules(
        rules=RULES.rules,
        public=frozenset(
            {("GET", "/v1/gadgets"), ("GET", "/v1/widgets"), ("DELETE", "/v1/widgets")}
        ),
    )
    assert len(routecheck.policy_problems(build(), allowed)) == 1


def test_duplicates_and_shadowing() -> None:
    assert routecheck.duplicate_problems(build(), RULES) == [
        "GET /v1/things/detail is shadowed by GET /v1/things/{thing_id} registered before it",
        "DELETE /v1/widgets duplicates DELETE /v1/widgets registered before it",
    ]


def test_microversions() -> None:
    assert routecheck.microversion_problems(build(), RULES) == [
        "GET /v1/gadgets: handler gates on `version < (1, 5)` but declares no since(...)",
        "GET /v1/widgets: min version 1.9 is not in the table",
    ]


def test_request_bodies() -> None:
    assert routecheck.request_body_problems(build(), RULES) == [
        "PUT /v1/things/{thing_id}: declares no request body in the OpenAPI document"
    ]
    bodiless = RouteRules(rules=RULES.rules, bodiless=frozenset({("PUT", "/v1/things/{thing_id}")}))
    assert routecheck.request_body_problems(build(), bodiless) == []


def test_check_reports_every_problem() -> None:
    with pytest.raises(AssertionError, match=r"\[duplicates\] DELETE /v1/widgets duplicates"):
        routecheck.check(build(), RULES, ["duplicates"])
