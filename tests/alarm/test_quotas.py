"""Alarm quotas (``/v2/quotas``) in-process: who may read, set and delete them, Aodh's
400s for bad bodies, a stored limit replacing ``[alarm] project_alarm_quota`` when
alarms are created (``user_alarm_quota`` still applying), and concurrent creates that
stop at the limit, on SQLite and on the MariaDB and PostgreSQL servers."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.databases import BACKENDS, database
from tests.support import make_runtime, make_token
from tinystack.alarm.conf import Options
from tinystack.alarm.service import SERVICE
from tinystack.alarm.services import alarms, quotas
from tinystack.alarm.services.deps import Deps
from tinystack.alarm.services.records import Caller, Limit, ProjectQuotas
from tinystack.common.db import Database, migrate
from tinystack.common.exceptions import Forbidden
from tinystack.common.service import Runtime

RULE = {"metric": "cpu", "resource_id": "r1", "resource_type": "generic",
        "aggregation_method": "mean", "threshold": 50.0}  # fmt: skip
ALARM = {"name": "q", "type": "gnocchi_resources_threshold",
         "gnocchi_resources_threshold_rule": RULE}  # fmt: skip
QUIET = {"alarm.evaluator": False, "alarm.event_alarms": False}


class Cloud:
    """The alarm app on its own database, and tokens of its personas."""

    def __init__(self, path: Path, **opts: object) -> None:
        self.runtime: Runtime = make_runtime(
            path, SERVICE, overrides={**QUIET, **{f"alarm.{k}": v for k, v in opts.items()}}
        )
        self.client = TestClient(SERVICE.create_app(self.runtime))

    def token(self, role: str, project: str | None, user: str | None = None) -> dict[str, str]:
        system = project is None
        made = make_token(self.runtime, roles=[role], project_id=project, user_id=user,
                          system=system)  # fmt: skip
        return {"X-Auth-Token": made}

    def call(self, method: str, path: str, who: dict[str, str], status: int, **kw: Any) -> Any:
        response = self.client.request(method, path, headers=who, **kw)
        assert response.status_code == status, (method, path, response.text)
        return response.json() if response.content else None

    def fault(self, method: str, path: str, who: dict[str, str], status: int, **kw: Any) -> str:
        return str(self.call(method, path, who, status, **kw)["error_message"]["faultstring"])


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Cloud:
    return Cloud(tmp_path_factory.mktemp("alarm-quotas"), project_alarm_quota=2)


def _project() -> str:
    return uuid.uuid4().hex


def _set(project: str, limit: object) -> dict[str, Any]:
    return {"project_id": project, "quotas": [{"resource": "alarms", "limit": limit}]}


def test_show_set_and_delete(cloud: Cloud) -> None:
    mine = _project()
    admin, member = cloud.token("admin", _project()), cloud.token("member", mine)
    default = {"project_id": mine, "quotas": [{"resource": "alarms", "limit": 2}]}
    assert cloud.call("GET", "/v2/quotas", member, 200) == default  # the caller's project
    assert cloud.call("GET", f"/v2/quotas?project_id={mine}", admin, 200) == default
    assert cloud.call("POST", "/v2/quotas", admin, 201, json=_set(mine, 30)) == _set(mine, 30)
    assert cloud.call("GET", "/v2/quotas", member, 200) == _set(mine, 30)
    # the last given wins; a digit string is an integer, as WSME reads it
    twice = {"project_id": mine, "quotas": [{"resource": "alarms", "limit": 5},
                                            {"resource": "alarms", "limit": "7"}]}  # fmt: skip
    assert cloud.call("POST", "/v2/quotas", admin, 201, json=twice) == _set(mine, 7)
    # nothing to set: the stored quotas, as they are
    kept = cloud.call("POST", "/v2/quotas", admin, 201, json={"project_id": mine, "quotas": []})
    assert kept == _set(mine, 7)
    unset = _project()
    nothing = cloud.call("POST", "/v2/quotas", admin, 201, json={"project_id": unset})
    assert nothing == {"project_id": unset, "quotas": []}
    cloud.call("DELETE", f"/v2/quotas/{mine}", admin, 204)
    assert cloud.call("GET", "/v2/quotas", member, 200) == default
    cloud.call("DELETE", f"/v2/quotas/{mine}", admin, 204)  # nothing stored: still 204


def test_who_may_read_set_and_delete(cloud: Cloud) -> None:
    a, b = _project(), _project()
    reader, member = cloud.token("reader", a), cloud.token("member", a)
    other, admin = cloud.token("member", b), cloud.token("admin", b)
    assert cloud.call("GET", "/v2/quotas", reader, 200)["project_id"] == a
    refused = "You are not authorized to perform the requested action: telemetry:"
    found = cloud.fault("GET", f"/v2/quotas?project_id={a}", other, 403)
    assert found == refused + "get_quotas."
    assert cloud.fault("POST", "/v2/quotas", member, 403, json=_set(a, 100)) == (
        refused + "update_quotas."
    )
    cloud.call("POST", "/v2/quotas", reader, 403, json=_set(a, 100))
    assert cloud.fault("DELETE", f"/v2/quotas/{a}", member, 403) == refused + "delete_quotas."
    assert cloud.call("GET", "/v2/quotas", member, 200) == {
        "project_id": a, "quotas": [{"resource": "alarms", "limit": 2}],
    }  # fmt: skip
    # an admin of another project reads and sets any project's
    assert cloud.call("POST", "/v2/quotas", admin, 201, json=_set(a, 9)) == _set(a, 9)
    assert cloud.call("GET", f"/v2/quotas?project_id={a}", admin, 200) == _set(a, 9)
    # a system token has no project of its own: it must name one
    system = cloud.token("admin", None)
    assert cloud.fault("GET", "/v2/quotas", system, 400) == 'Missing argument: "project_id"'
    assert cloud.call("GET", f"/v2/quotas?project_id={a}", system, 200) == _set(a, 9)


P = "p-bad"
WRONG = [
    ({}, "Invalid input for field/attribute project_id. Value: 'None'. Mandatory field missing."),
    ({"project_id": ""},
     "Invalid input for field/attribute project_id. Value: 'None'. Mandatory field missing."),
    ({"project_id": 5}, "Invalid input for field/attribute project_id. Value: '5'. "
                        "Wrong type. Expected '<class 'str'>', got '<class 'int'>'"),
    ({"project_id": "p" * 129}, f"Invalid input for field/attribute project_id. Value: "
     f"'{'p' * 129}'. Value should have a maximum character requirement of 128"),
    (_set(P, -5), "Invalid input for field/attribute limit. Value: '-5'. "
                  "Value should be greater or equal to -1"),
    (_set(P, 2**31), "Invalid input for field/attribute limit. Value: '2147483648'. "
                     "Value should be lower or equal to 2147483647"),
    (_set(P, None),
     "Invalid input for field/attribute limit. Value: 'None'. Mandatory field missing."),
    (_set(P, "many"), "Invalid input for field/attribute body. Value: "
                      f"'{_set(P, 'many')}'. invalid literal for int() with base 10: 'many'"),
    (_set(P, [1]), "Invalid input for field/attribute limit. Value: '[1]'. "
                   "Wrong type. Expected '<class 'int'>', got '<class 'list'>'"),
    ({"project_id": P, "quotas": [{"resource": "volumes", "limit": 1}]},
     "Invalid input for field/attribute resource. Value: 'volumes'. "
     "Value should be one of: alarms"),
    ({"project_id": P, "quotas": [{"limit": 1}]},
     "Invalid input for field/attribute resource. Value: 'None'. Mandatory field missing."),
    ({"project_id": P, "quotas": {"alarms": 1}}, "Invalid input for field/attribute body. "
     f"Value: '{ {'project_id': P, 'quotas': {'alarms': 1}} }'. "
     "Value not a valid list: {'alarms': 1}"),
    ({"project_id": P, "quotas": {}},
     f"Invalid input for field/attribute body. Value: '{ {'project_id': P, 'quotas': {}} }'. "
     "Value not a valid list: {}"),
    ({"project_id": P, "quotas": ["alarms"]}, "Invalid input for field/attribute quotas. "
     "Value: 'alarms'. Wrong type. Expected 'Quota', got '<class 'str'>'"),
    ({"project_id": P, "colour": "red"}, "Unknown attribute for argument body: colour"),
    ({"project_id": P, "quotas": [{"resource": "alarms", "limit": 1, "user": "u", "x": 1}]},
     "Unknown attributes for argument body.quotas: user, x"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "message"), WRONG)
def test_bad_bodies_get_aodh_400s(cloud: Cloud, body: object, message: str) -> None:
    admin = cloud.token("admin", _project())
    assert cloud.fault("POST", "/v2/quotas", admin, 400, json=body) == message
    # checked before the rule, as Aodh does: a member learns the same
    assert cloud.fault("POST", "/v2/quotas", cloud.token("member", P), 400, json=body) == message


def test_bodies_that_are_no_object_are_400s(cloud: Cloud) -> None:
    admin = cloud.token("admin", _project())
    for body in ([_set(P, 1)], "alarms", None):
        cloud.call("POST", "/v2/quotas", admin, 400, json=body)
    typed = {**admin, "Content-Type": "application/json"}
    cloud.call("POST", "/v2/quotas", typed, 400, content=b"{not json")


def _create(cloud: Cloud, who: dict[str, str], status: int) -> Any:
    return cloud.call("POST", "/v2/alarms", who, status, json=ALARM)


def test_a_stored_limit_replaces_the_project_default(cloud: Cloud) -> None:
    project = _project()
    admin, member = cloud.token("admin", _project()), cloud.token("member", project)
    cloud.call("POST", "/v2/quotas", admin, 201, json=_set(project, 1))
    made = _create(cloud, member, 201)
    refused = _create(cloud, cloud.token("member", project), 403)["error_message"]
    assert refused["faultstring"].startswith("Alarm quota exceeded for user ")
    assert refused["faultstring"].endswith(f" on project {project}")
    # -1 stored: no limit, above the default of 2
    cloud.call("POST", "/v2/quotas", admin, 201, json=_set(project, -1))
    for _ in range(3):
        _create(cloud, member, 201)
    # deleted: the default (2) is back, and the project has 4
    cloud.call("DELETE", f"/v2/quotas/{project}", admin, 204)
    _create(cloud, member, 403)
    cloud.call("POST", "/v2/quotas", admin, 201, json=_set(project, 0))
    cloud.call("DELETE", f"/v2/alarms/{made['alarm_id']}", member, 204)
    _create(cloud, member, 403)  # 0: none at all
    # an admin creating in the project counts against it as well
    body = {**ALARM, "project_id": project}
    cloud.call("POST", "/v2/alarms", admin, 403, json=body)
    cloud.call("POST", "/v2/quotas", admin, 201, json=_set(project, 4))
    cloud.call("POST", "/v2/alarms", admin, 201, json=body)


def test_the_user_quota_still_applies(tmp_path: Path) -> None:
    cloud = Cloud(tmp_path, user_alarm_quota=1)
    project, user = _project(), _project()
    admin, member = cloud.token("admin", _project()), cloud.token("member", project, user)
    cloud.call("POST", "/v2/quotas", admin, 201, json=_set(project, 10))
    _create(cloud, member, 201)
    _create(cloud, member, 403)
    _create(cloud, cloud.token("member", project), 201)  # another user of the project


def _race(deps: Deps, project: str, tries: int) -> tuple[int, int, list[BaseException]]:
    """``tries`` creates of the project's members at once: (made, refused, other errors)."""
    start = threading.Barrier(tries)
    made, refused, errors = [], [], []

    def create(index: int) -> None:
        start.wait()
        try:
            made.append(alarms.create(deps, Caller(f"u{index}", project), {**ALARM}))
        except Forbidden:
            refused.append(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(tries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return len(made), len(refused), errors


def test_concurrent_creates_stop_at_the_limit(tmp_path: Path) -> None:
    deps = Deps(Database(f"sqlite:///{tmp_path}/alarm.sqlite"), Options(project_alarm_quota=3))
    migrate(deps.db, "tinystack.alarm.migrations", "alembic_version_alarm")
    project = _project()
    assert _race(deps, project, 8) == (3, 5, [])  # the [alarm] default
    quotas.set_limits(deps, ProjectQuotas(project, (Limit("alarms", 5),)))
    assert _race(deps, project, 8) == (2, 6, [])  # a stored limit


@pytest.fixture(scope="module", params=BACKENDS)
def server_deps(request: pytest.FixtureRequest) -> Iterator[Deps]:
    with database(request.param, "tsch_alarm_quota") as url:
        db = Database(url)
        migrate(db, "tinystack.alarm.migrations", "alembic_version_alarm")
        yield Deps(db, Options())
        db.dispose()


def test_a_stored_limit_holds_under_concurrency_on_servers(server_deps: Deps) -> None:
    project = _project()
    wanted = ProjectQuotas(project, (Limit("alarms", 3),))
    start, errors = threading.Barrier(4), []

    def first_set() -> None:  # the first quota of a project, set four times at once
        start.wait()
        try:
            quotas.set_limits(server_deps, wanted)
        except BaseException as exc:
            errors.append(exc)

    setters = [threading.Thread(target=first_set) for _ in range(4)]
    for thread in setters:
        thread.start()
    for thread in setters:
        thread.join(60)
    assert not errors
    assert quotas.get(server_deps, project) == wanted
    assert _race(server_deps, project, 8) == (3, 5, [])
