"""The shared microversion machinery, configured for a made-up service."""

from __future__ import annotations

import json
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.middleware import Middleware
from starlette.requests import Request

from tinystack.common.api import microversion as mv
from tinystack.common.api.microversion import (
    MICROVERSION_PARSE,
    NOVA,
    MicroversionMiddleware,
    Microversions,
    Version,
    VersionError,
    VersionRange,
    declared,
    since,
)


def _body(versions: Microversions, exc: VersionError, request_id: str) -> bytes:
    return json.dumps({"status": exc.status, "requested": exc.requested}).encode()


WIDGETS = Microversions("widget", ("1.0", "1.1", "1.2", "1.3"), _body)
LEGACY = Microversions(
    "widget", ("2.1", "2.2", "2.3"), _body, grammar=NOVA, legacy_header="X-Widget-Version"
)


WidgetVersion = Annotated[Version, Depends(WIDGETS.current)]


def test_version_compares_with_versions_and_tuples() -> None:
    assert Version.parse("1.10") > Version.parse("1.9")
    assert Version(1, 2) == (1, 2) and Version(2, 0) >= (1, 99)
    assert str(Version(1, 10)) == "1.10"
    assert Version(1, 5).matches("1.5") and not Version(1, 4).matches("1.5")
    assert Version(1, 5).matches("1.0", "1.5") and not Version(1, 6).matches("1.0", "1.5")
    for bad in ("1", "1.2.3", "a.b", "", "1.x"):
        with pytest.raises(ValueError, match="invalid version string"):
            Version.parse(bad)


def test_table_bounds() -> None:
    assert (WIDGETS.minimum, WIDGETS.maximum) == (Version(1, 0), Version(1, 3))
    assert WIDGETS.state_key == "widget_microversion"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], (1, 0)),
        (["widget 1.2"], (1, 2)),
        (["widget latest"], (1, 3)),
        (["gadget 2.1, widget 1.1"], (1, 1)),
        (["widget 1.1", "widget 1.2"], (1, 2)),
        (["widget 1.1, widget 1.3"], (1, 3)),
        (["gadget 1.2"], (1, 0)),
        (["WIDGET 1.2"], (1, 2)),
        (["widget 1.02"], (1, 2)),
    ],
)
def test_microversion_parse_dialect(values: list[str], expected: tuple[int, int]) -> None:
    assert WIDGETS.grammar is MICROVERSION_PARSE
    assert WIDGETS.negotiate(values) == expected


@pytest.mark.parametrize(
    ("values", "status"),
    [
        (["widget 1.4"], 406),
        (["widget 0.9"], 406),
        (["widget 2.0"], 406),
        (["widget 1"], 400),
        (["widget 1.2.3"], 400),
        (["widget LATEST"], 400),
        (["widget 1.2 extra"], 400),
    ],
)
def test_microversion_parse_dialect_errors(values: list[str], status: int) -> None:
    with pytest.raises(VersionError) as caught:
        WIDGETS.negotiate(values)
    assert caught.value.status == status
    assert caught.value.requested == values[0].split(None, 1)[1]


@pytest.mark.parametrize(
    ("values", "legacy", "expected"),
    [
        ([], [], (2, 1)),
        ([], ["2.2"], (2, 2)),
        (["widget 2.3"], ["2.2"], (2, 3)),
        (["gadget 1.0"], [" 2.2 "], (2, 2)),
        (["widget LATEST"], [], (2, 3)),
        (["widget 2.2, widget 2.3"], [], (2, 2)),
        (["widget 2.3", "widget 2.2"], [], (2, 2)),
        (["widget 2.2 extra"], [], (2, 1)),
    ],
)
def test_nova_dialect(values: list[str], legacy: list[str], expected: tuple[int, int]) -> None:
    assert LEGACY.negotiate(values, legacy) == expected


@pytest.mark.parametrize(("text", "status"), [("2.01", 400), ("02.1", 400), ("2.4", 406)])
def test_nova_dialect_errors(text: str, status: int) -> None:
    with pytest.raises(VersionError) as caught:
        LEGACY.negotiate([f"widget {text}"])
    assert caught.value.status == status
    if status == 406:
        assert caught.value.version == Version.parse(text)


def test_response_headers_name_the_version_and_vary() -> None:
    assert WIDGETS.response_headers(Version(1, 2)) == [
        (b"OpenStack-API-Version", b"widget 1.2"),
        (b"vary", b"OpenStack-API-Version"),
    ]
    assert LEGACY.response_headers(Version(2, 2)) == [
        (b"OpenStack-API-Version", b"widget 2.2"),
        (b"X-Widget-Version", b"2.2"),
        (b"vary", b"OpenStack-API-Version, X-Widget-Version"),
    ]


def test_declared_route_ranges() -> None:
    extra = since("1.2", "1.3", absent=405)
    assert extra == {mv.OPENAPI_KEY: {"min": "1.2", "max": "1.3", "absent": 405}}
    assert since("1.1") == {mv.OPENAPI_KEY: {"min": "1.1"}}
    with pytest.raises(ValueError):
        since("one")
    route = APIRoute("/w", lambda: None, openapi_extra=extra)
    bounds = declared(route)
    assert bounds == VersionRange(Version(1, 2), Version(1, 3), 405)
    assert Version(1, 2) in bounds and Version(1, 3) in bounds
    assert Version(1, 1) not in bounds and Version(1, 4) not in bounds
    assert Version(9, 9) in VersionRange(Version(1, 0))
    assert declared(APIRoute("/x", lambda: None)) is None
    assert declared(None) is None


def _app(versions: Microversions) -> FastAPI:
    app = FastAPI(middleware=[Middleware(MicroversionMiddleware, versions)])

    @app.get("/which", openapi_extra=since("1.1"))
    def which(request: Request) -> dict[str, str]:
        return {"version": str(versions.current(request))}

    @app.get("/dep")
    def dep(version: WidgetVersion) -> dict[str, str]:
        return {"version": str(version)}

    return app


def test_middleware_negotiates_stamps_and_renders_errors() -> None:
    client = TestClient(_app(WIDGETS))
    ok = client.get("/which", headers={"OpenStack-API-Version": "widget 1.2"})
    assert ok.json() == {"version": "1.2"}
    assert ok.headers["openstack-api-version"] == "widget 1.2"
    assert ok.headers["vary"] == "OpenStack-API-Version"
    assert client.get("/which").json() == {"version": "1.0"}
    dep = client.get("/dep", headers={"OpenStack-API-Version": "widget latest"})
    assert dep.json() == {"version": "1.3"}
    bad = client.get("/which", headers={"OpenStack-API-Version": "widget 9.9"})
    assert bad.status_code == 406
    assert bad.json() == {"status": 406, "requested": "9.9"}
    assert "openstack-api-version" not in bad.headers
    spec = client.get("/openapi.json").json()
    assert spec["paths"]["/which"]["get"][mv.OPENAPI_KEY] == {"min": "1.1"}


def test_middleware_reads_the_legacy_header() -> None:
    client = TestClient(_app(LEGACY))
    ok = client.get("/which", headers={"X-Widget-Version": "2.2"})
    assert ok.json() == {"version": "2.2"}
    assert ok.headers["x-widget-version"] == "2.2"
