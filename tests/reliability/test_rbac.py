"""The RBAC matrix (``tests/reliability/rbac.py``): every route of every service, as
system admin, admin, manager, member and reader of project A and member of project B,
against resources of A, compared with the service's default policy.

The dashboard is left out: it authenticates a browser session (a cookie), not a token,
and authorizes by calling the other services, whose routes the matrix walks.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.cloudproc import CloudProcess
from tests.reliability import figures, rbac
from tests.reliability.conftest import password_token, project_scope
from tinystack.common.auth.context import RequestContext
from tinystack.deploy import registry

SERVICES = [s for s in registry.available() if s != "dashboard"]
RESULTS = rbac.Result()
READER_WRITES: list[str] = []


class Env:
    """Projects A and B, the six personas and a resource of A of each main kind."""

    def __init__(self, cloud: CloudProcess) -> None:
        self.cloud = cloud
        admin_password = cloud.password("admin")
        self.admin = password_token(cloud.auth_url, "admin", admin_password, project_scope("admin"))
        system = password_token(cloud.auth_url, "admin", admin_password, {"system": {"all": True}})
        self.identity = httpx.Client(
            base_url=cloud.auth_url, headers={"X-Auth-Token": self.admin}, timeout=60
        )
        tag = uuid.uuid4().hex[:8]
        self.project_a = self._create("projects", {"name": f"rbac-a-{tag}"})
        project_b = self._create("projects", {"name": f"rbac-b-{tag}"})
        roles = {r["name"]: r["id"] for r in self.identity.get("/roles").json()["roles"]}
        admin_id = self.identity.get("/users", params={"name": "admin"}).json()["users"][0]["id"]
        self.personas = [rbac.Persona("system_admin", system, admin_id, None, system=True)]
        for name, role, project in (
            ("member_b", "member", project_b),
            ("reader_a", "reader", self.project_a),
            ("member_a", "member", self.project_a),
            ("manager_a", "manager", self.project_a),
            ("admin_a", "admin", self.project_a),
        ):
            user = f"rbac-{name}-{tag}"
            password = uuid.uuid4().hex
            user_id = self._create("users", {"name": user, "password": password})
            grant = f"/projects/{project}/users/{user_id}/roles/{roles[role]}"
            assert self.identity.put(grant).status_code == 204
            scope = {"project": {"id": project}}
            token = password_token(cloud.auth_url, user, password, scope)
            self.personas.append(rbac.Persona(name, token, user_id, project))
        self.personas.sort(key=lambda p: rbac.PERSONAS.index(p.name))
        self.member = next(p for p in self.personas if p.name == "member_a")
        self.params = self._resources_of_a()

    def _create(self, kind: str, body: dict[str, Any]) -> str:
        response = self.identity.post(f"/{kind}", json={kind[:-1]: body})
        assert response.status_code == 201, response.text
        return str(response.json()[kind[:-1]]["id"])

    def root(self, service: str) -> str:
        return f"http://127.0.0.1:{self.cloud.ports[service]}"

    def _as_member(self, service: str, method: str, path: str, status: int, **kw: Any) -> Any:
        headers = {"X-Auth-Token": self.member.token, **kw.pop("headers", {})}
        if service in rbac.VERSIONS:
            headers["OpenStack-API-Version"] = rbac.VERSIONS[service]
        response = httpx.request(
            method, self.root(service) + path, headers=headers, timeout=60, **kw
        )
        assert response.status_code == status, (path, response.status_code, response.text)
        return response.json() if response.content else None

    def _resources_of_a(self) -> dict[str, str]:
        """A network, subnet, port, security group, router, image, volume, server and an
        object of project A, created by its member; the path parameters naming them."""
        net = "network"
        network = self._as_member(net, "POST", "/v2.0/networks", 201, json={"network": {}})
        network_id = network["network"]["id"]
        subnet = {"network_id": network_id, "cidr": "10.77.0.0/24", "ip_version": 4}
        subnet_id = self._as_member(net, "POST", "/v2.0/subnets", 201, json={"subnet": subnet})[
            "subnet"
        ]["id"]
        port = {"network_id": network_id}
        port_id = self._as_member(net, "POST", "/v2.0/ports", 201, json={"port": port})["port"][
            "id"
        ]
        group = {"security_group": {"name": "rbac"}}
        group_id = self._as_member(net, "POST", "/v2.0/security-groups", 201, json=group)[
            "security_group"
        ]["id"]
        router = {"router": {"name": "rbac"}}
        router_id = self._as_member(net, "POST", "/v2.0/routers", 201, json=router)["router"]["id"]
        image = {"name": "rbac", "disk_format": "raw", "container_format": "bare"}
        image_id = self._as_member("image", "POST", "/v2/images", 201, json=image)["id"]
        self._as_member(
            "image", "PUT", f"/v2/images/{image_id}/file", 204, content=b"\0" * 4096,
            headers={"Content-Type": "application/octet-stream"},
        )  # fmt: skip
        volume = {"volume": {"size": 1, "name": "rbac"}}
        volume_id = self._as_member("volume", "POST", "/v3/volumes", 202, json=volume)["volume"][
            "id"
        ]
        server = {
            "name": "rbac", "flavorRef": "1", "imageRef": image_id,
            "networks": [{"uuid": network_id}],
        }  # fmt: skip
        server_id = self._as_member(
            "compute", "POST", "/v2.1/servers", 202, json={"server": server}
        )["server"]["id"]
        account = f"AUTH_{self.project_a}"
        self._as_member("object_store", "PUT", f"/v1/{account}/rbac", 201)
        self._as_member("object_store", "PUT", f"/v1/{account}/rbac/o", 201, content=b"x")
        return {
            "project_id": self.project_a,
            "tenant_id": self.project_a,
            "user_id": self.member.user_id,
            "network_id": network_id,
            "subnet_id": subnet_id,
            "port_id": port_id,
            "security_group_id": group_id,
            "router_id": router_id,
            "image_id": image_id,
            "volume_id": volume_id,
            "server_id": server_id,
            "account": account,
            "container": "rbac",
            "obj": "o",
        }


@pytest.fixture(scope="module")
def env(cloud: CloudProcess) -> Iterator[Env]:
    yield Env(cloud)
    figures.write_section(
        "rbac",
        "RBAC matrix (every route x 6 personas, against project A)",
        {
            "services": len(SERVICES),
            "routes": RESULTS.routes,
            "cells checked": RESULTS.cells,
            "cells the policy denies": RESULTS.denied,
            "mismatches": len(RESULTS.problems),
            "default rules that let a reader write": sorted(READER_WRITES),
        },
    )


def _document(root: str) -> dict[str, Any]:
    response = httpx.get(f"{root}/openapi.json", timeout=60)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


@pytest.mark.parametrize("service", SERVICES)
def test_rbac_matrix(env: Env, service: str) -> None:
    root = env.root(service)
    rules = __import__(f"tinystack.{service}.policies", fromlist=["list_rules"]).list_rules()
    policy = rbac.policy(list(rules))

    def check(persona: rbac.Persona, rule: str, target: dict[str, Any]) -> bool:
        ctx: RequestContext = rbac.context(persona, policy)
        return ctx.allowed(rule, target)

    cases = rbac.routes(service, _document(root))
    reader = next(p for p in env.personas if p.name == "reader_a")
    READER_WRITES.extend(rbac.reader_writes(service, cases, check, reader, env.project_a))
    with ThreadPoolExecutor(4) as pool:
        done = list(
            pool.map(
                lambda case: rbac.run_route(
                    case, root, env.personas, env.params, env.project_a, check
                ),
                [c for c in cases if c.method != "DELETE"],
            )
        )
    # deletes after everything else (they name resources that do not exist anyway)
    done += [
        rbac.run_route(c, root, env.personas, env.params, env.project_a, check)
        for c in cases
        if c.method == "DELETE"
    ]
    problems = [p for _, _, found in done for p in found]
    RESULTS.routes += len(cases)
    RESULTS.cells += sum(cells for cells, _, _ in done)
    RESULTS.denied += sum(denied for _, denied, _ in done)
    RESULTS.problems += problems
    assert cases
    assert not problems, f"{len(problems)} cells differ from the policy:\n" + "\n".join(
        sorted(problems)[:60]
    )


def test_a_cell_fails_when_the_service_and_the_policy_disagree() -> None:
    route = rbac.RouteCase("compute", "GET", "/v2.1/servers/{server_id}", ("rule",))
    b = rbac.Persona("member_b", "t", "u", "p")
    assert rbac.judge(route, b, False, 200, "{}")  # denied, yet answered
    assert rbac.judge(route, b, True, 403, "You are not authorized to ...")  # allowed, refused
    assert rbac.judge(route, b, False, 500, "")
    assert rbac.judge(route, b, False, 404, "") is None
    assert rbac.judge(route, b, True, 404, "") is None
    write = rbac.RouteCase("image", "PUT", "/v2/images/{image_id}/members/{member_id}", ("a", "b"))
    reader = rbac.Persona("reader_a", "t", "u", "p")
    assert rbac.judge(write, reader, None, 200, "{}")  # readers never write
    assert rbac.judge(write, b, None, 200, "{}") is None  # a conditional rule decides
