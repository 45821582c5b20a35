"""The compute metadata API: signed requests, the OpenStack and EC2 trees, the config drive
built from the same content, and one server of a real ``tinystack up`` (compute + network)
read through the metadata port."""

from __future__ import annotations

import base64
import json
import socket
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from tests.cloudproc import free_port
from tests.compute.conftest import MakeEnv
from tests.support import make_runtime
from tinystack.common import config
from tinystack.common.service import Listener, Runtime
from tinystack.common.timeutils import utcnow
from tinystack.compute import conf as compute_conf
from tinystack.compute import models, states
from tinystack.compute.metadata import api as metadata_api
from tinystack.compute.metadata import content
from tinystack.compute.service import SERVICE
from tinystack.compute.services import instances
from tinystack.compute.virt.qemu import configdrive
from tinystack.deploy import runner

SECRET = "s3cret"
PROJECT = "p-meta"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHp0ZXN0a2V5dGVzdGtleXRlc3RrZXl0ZXN0a2V5dA tester"
USER_DATA = b"#!/bin/sh\necho hello \xff\n"
IMAGE = "6f1c2d3e-aaaa-bbbb-cccc-1234567890ab"
NET_A = "net-aaaa"
NET_B = "net-bbbb"
VIF_A = {
    "id": "11111111-2222-3333-4444-555555555555",
    "address": "fa:16:3e:00:00:01",
    "network_id": NET_A,
    "network_label": "private",
    "fixed_ips": [{"ip_address": "10.0.0.5", "subnet_id": "sub-a", "version": 4}],
    "floating_ips": ["172.24.4.10"],
    "active": True,
    "mtu": 1450,
    "subnets": [
        {
            "id": "sub-a",
            "cidr": "10.0.0.0/26",
            "gateway_ip": "10.0.0.1",
            "enable_dhcp": True,
            "dns_nameservers": ["10.0.0.2"],
            "host_routes": [],
            "ipv6_address_mode": None,
        }
    ],
}
VIF_B = {
    "id": "66666666-7777-8888-9999-000000000000",
    "address": "fa:16:3e:00:00:02",
    "network_id": NET_B,
    "network_label": "static",
    "fixed_ips": [{"ip_address": "192.168.5.9", "subnet_id": "sub-b", "version": 4}],
    "floating_ips": [],
    "active": True,
    "subnets": [
        {
            "id": "sub-b",
            "cidr": "192.168.5.0/24",
            "gateway_ip": "192.168.5.1",
            "enable_dhcp": False,
            "dns_nameservers": ["9.9.9.9"],
            "host_routes": [{"destination": "10.10.0.0/16", "nexthop": "192.168.5.254"}],
        }
    ],
}


def add_instance(runtime: Runtime, **values: Any) -> models.Instance:
    defaults: dict[str, Any] = {"display_name": "web-1", "hostname": "web-1"}
    row = models.Instance(
        uuid=str(uuid.uuid4()),
        project_id=PROJECT,
        user_id="u-meta",
        flavorid="1",
        vcpus=1,
        memory_mb=512,
        flavor={
            "flavorid": "1",
            "name": "m1.tiny",
            "vcpus": 1,
            "memory_mb": 512,
            "root_gb": 1,
            "ephemeral_gb": 1,
        },
        image_ref=IMAGE,
        host="h1",
        node="h1",
        availability_zone="az-meta",
        reservation_id="r-0000abcd",
        created_at=utcnow(),
        vm_state=states.ACTIVE,
        power_state=states.RUNNING,
        **{**defaults, **values},
    )
    assert runtime.db is not None
    runtime.db.write(lambda session: session.add(row))
    return row


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    return make_runtime(
        Path(tmp_path_factory.mktemp("metadata")),
        SERVICE,
        overrides={
            "compute.metadata_proxy_shared_secret": SECRET,
            "compute.metadata_cache_expiration": 0,
            "compute.metadata_listen_port": 18775,
        },
    )


@pytest.fixture(scope="module")
def listener(runtime: Runtime) -> Listener:
    SERVICE.create_app(runtime)
    (found,) = [x for x in SERVICE.extra_listeners(runtime) if x.name == "metadata"]
    return found


@pytest.fixture(scope="module")
def client(listener: Listener) -> Iterator[TestClient]:
    with TestClient(listener.app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def server(runtime: Runtime) -> models.Instance:
    return add_instance(
        runtime,
        key_name="mykey",
        key_data=KEY,
        user_data=base64.b64encode(USER_DATA).decode(),
        user_metadata={"role": "web", "tier": "1"},
        security_groups=["default", "web"],
        network_info=[VIF_A, VIF_B],
    )


@pytest.fixture(scope="module")
def bare(runtime: Runtime) -> models.Instance:
    """No key, no user data, no ports, no security groups."""
    return add_instance(runtime, display_name="bare", hostname="bare")


def signed(inst: models.Instance, secret: str = SECRET, **extra: str) -> dict[str, str]:
    return {
        "X-Instance-ID": inst.uuid,
        "X-Tenant-ID": inst.project_id,
        "X-Forwarded-For": "10.0.0.5",
        "X-Instance-ID-Signature": metadata_api.sign(secret, inst.uuid),
        **extra,
    }


def get(client: TestClient, inst: models.Instance, path: str, status: int = 200) -> Any:
    response = client.get(path, headers=signed(inst))
    assert response.status_code == status, f"{path}: {response.status_code} {response.text}"
    return response


def text(client: TestClient, inst: models.Instance, path: str) -> str:
    response = get(client, inst, path)
    assert response.headers["content-type"].startswith("text/plain"), path
    return str(response.text)


def as_json(client: TestClient, inst: models.Instance, path: str) -> Any:
    response = get(client, inst, path)
    assert response.headers["content-type"] == "application/json", path
    return response.json()


# -- the listener -------------------------------------------------------------------------------


def test_listener_from_options(listener: Listener, runtime: Runtime) -> None:
    assert (listener.name, listener.port) == ("metadata", 18775)
    assert listener.host == runtime.conf.bind_host


def test_signature_is_the_proxy_agents() -> None:
    from tinystack.network.agents.metadata import sign as agent_sign

    assert metadata_api.sign(SECRET, "abc") == agent_sign(SECRET, "abc")


# -- OpenStack layout ---------------------------------------------------------------------------


def test_meta_data_json(client: TestClient, server: models.Instance) -> None:
    md = as_json(client, server, "/openstack/latest/meta_data.json")
    assert md["uuid"] == server.uuid
    assert md["name"] == "web-1"
    assert md["hostname"] == "web-1.novalocal"
    assert md["public_keys"] == {"mykey": KEY}
    assert md["keys"] == [{"name": "mykey", "type": "ssh", "data": KEY}]
    assert md["meta"] == {"role": "web", "tier": "1"}
    assert md["project_id"] == PROJECT
    assert md["availability_zone"] == "az-meta"
    assert md["launch_index"] == 0
    assert len(base64.b64decode(md["random_seed"])) == 512
    assert "admin_pass" not in md
    old = as_json(client, server, "/openstack/2012-08-10/meta_data.json")
    assert "project_id" not in old and "random_seed" not in old and "keys" not in old
    assert old["public_keys"] == {"mykey": KEY}


def test_user_data_is_the_decoded_bytes(client: TestClient, server: models.Instance) -> None:
    response = get(client, server, "/openstack/latest/user_data")
    assert response.content == USER_DATA
    assert response.headers["content-type"].startswith("text/plain")
    assert get(client, server, "/openstack/2013-04-04/user_data").content == USER_DATA


def test_no_user_data(client: TestClient, bare: models.Instance) -> None:
    get(client, bare, "/openstack/latest/user_data", 404)
    assert "user_data" not in text(client, bare, "/openstack/latest").splitlines()
    md = as_json(client, bare, "/openstack/latest/meta_data.json")
    assert "public_keys" not in md and "keys" not in md and md["meta"] == {}


def test_network_data_describes_the_ports(client: TestClient, server: models.Instance) -> None:
    nd = as_json(client, server, "/openstack/latest/network_data.json")
    links = {link["ethernet_mac_address"]: link for link in nd["links"]}
    assert set(links) == {VIF_A["address"], VIF_B["address"]}
    assert links[VIF_A["address"]]["vif_id"] == VIF_A["id"]
    assert links[VIF_A["address"]]["mtu"] == 1450
    a, b = nd["networks"]
    # DHCP on the first subnet: upstream leaves the address to DHCP
    assert a == {
        "id": "network0",
        "link": links[VIF_A["address"]]["id"],
        "type": "ipv4_dhcp",
        "network_id": NET_A,
    }
    # DHCP off: a static address with the subnet's mask, gateway and routes
    assert b["type"] == "ipv4" and b["network_id"] == NET_B
    assert (b["ip_address"], b["netmask"]) == ("192.168.5.9", "255.255.255.0")
    assert b["link"] == links[VIF_B["address"]]["id"]
    assert b["routes"] == [
        {"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "192.168.5.1"},
        {"network": "10.10.0.0", "netmask": "255.255.0.0", "gateway": "192.168.5.254"},
    ]
    assert {"type": "dns", "address": "9.9.9.9"} in nd["services"]
    assert {"type": "dns", "address": "10.0.0.2"} in nd["services"]


def test_network_data_without_ports(client: TestClient, bare: models.Instance) -> None:
    nd = as_json(client, bare, "/openstack/latest/network_data.json")
    assert nd == {"links": [], "networks": [], "services": []}


def test_openstack_listings(client: TestClient, server: models.Instance) -> None:
    versions = text(client, server, "/openstack").splitlines()
    assert versions[0] == "2012-08-10" and versions[-1] == "latest"
    assert "2018-08-27" in versions
    assert text(client, server, "/openstack/").splitlines() == versions
    assert text(client, server, "/openstack/latest").splitlines() == [
        "meta_data.json",
        "user_data",
        "password",
        "vendor_data.json",
        "network_data.json",
        "vendor_data2.json",
    ]
    assert text(client, server, "/openstack/2018-08-27/").splitlines()[0] == "meta_data.json"
    assert text(client, server, "/openstack/2012-08-10").splitlines() == [
        "meta_data.json",
        "user_data",
    ]
    get(client, server, "/openstack/2012-08-10/network_data.json", 404)
    get(client, server, "/openstack/2013-04-04/vendor_data.json", 404)
    assert as_json(client, server, "/openstack/latest/vendor_data.json") == {}
    assert as_json(client, server, "/openstack/latest/vendor_data2.json") == {}
    assert as_json(client, server, "/openstack/2016-10-06/vendor_data2.json") == {}


def test_password_is_posted_once(client: TestClient, runtime: Runtime) -> None:
    inst = add_instance(runtime, display_name="pw", hostname="pw")
    url = "/openstack/latest/password"
    assert text(client, inst, url) == ""
    get(client, inst, "/openstack/2012-08-10/password", 404)  # before 2013-04-04
    assert "password" not in text(client, inst, "/openstack/2012-08-10").splitlines()
    too_big = client.post(url, content=b"x" * 257, headers=signed(inst))
    assert too_big.status_code == 400
    huge = client.post(url, content=iter([b"x" * 65536] * 2), headers=signed(inst))
    assert huge.status_code == 413 and huge.text == "Request is too large."
    encrypted = "c2VjcmV0IGVuY3J5cHRlZCB3aXRoIHRoZSBndWVzdCdzIGtleQ=="
    assert client.post(url, content=encrypted, headers=signed(inst)).status_code == 200
    assert text(client, inst, url) == encrypted
    again = client.post(url, content=b"other", headers=signed(inst))
    assert again.status_code == 409
    assert text(client, inst, "/openstack/2013-04-04/password") == encrypted
    # what the compute API's os-server-password returns and clears
    assert runtime.db is not None
    assert instances.password(runtime.db, inst.uuid) == encrypted
    # only the password file takes a POST; an unsigned one is refused like a GET
    assert client.post("/openstack/latest/meta_data.json", headers=signed(inst)).status_code == 405
    unsigned = client.post(url, content=b"x", headers={"X-Instance-ID": inst.uuid})
    assert unsigned.status_code == 403


# -- EC2 layout ---------------------------------------------------------------------------------


def test_ec2_versions_and_version_listing(client: TestClient, server: models.Instance) -> None:
    versions = text(client, server, "/").splitlines()
    assert versions[0] == "1.0" and "2009-04-04" in versions and versions[-1] == "latest"
    assert text(client, server, "/latest/").splitlines() == ["dynamic/", "meta-data/", "user-data"]
    assert text(client, server, "/2009-04-04").splitlines() == [
        "dynamic/",
        "meta-data/",
        "user-data",
    ]
    assert text(client, server, "/1.0/").splitlines() == ["meta-data/", "user-data"]
    assert get(client, server, "/latest/user-data").content == USER_DATA


def test_ec2_meta_data_listing(client: TestClient, server: models.Instance) -> None:
    keys = text(client, server, "/latest/meta-data/").splitlines()
    assert keys == sorted(keys)
    for key in (
        "ami-id",
        "ami-launch-index",
        "block-device-mapping/",
        "hostname",
        "instance-id",
        "instance-type",
        "local-hostname",
        "local-ipv4",
        "placement/",
        "public-hostname",
        "public-ipv4",
        "public-keys/",
        "reservation-id",
        "security-groups",
    ):
        assert key in keys, key
    old = text(client, server, "/1.0/meta-data").splitlines()
    assert "instance-id" in old and "instance-type" not in old and "placement/" not in old


def test_ec2_leaves(client: TestClient, server: models.Instance) -> None:
    def leaf(name: str) -> str:
        return text(client, server, f"/latest/meta-data/{name}")

    assert leaf("instance-id") == f"i-{server.id:08x}"
    assert leaf("hostname") == leaf("local-hostname") == "web-1.novalocal"
    assert leaf("local-ipv4") == "10.0.0.5"
    assert leaf("public-ipv4") == "172.24.4.10"
    assert leaf("ami-id") == "ami-6f1c2d3e"
    assert leaf("ami-launch-index") == "0"
    assert leaf("instance-type") == "m1.tiny"
    assert leaf("placement/") == "availability-zone"
    assert leaf("placement/availability-zone") == "az-meta"
    assert leaf("public-keys/") == "0=mykey"
    assert leaf("public-keys/0/") == "openssh-key"
    assert leaf("public-keys/0/openssh-key") == KEY
    assert leaf("reservation-id") == "r-0000abcd"
    assert leaf("security-groups").splitlines() == ["default", "web"]
    assert leaf("block-device-mapping/").splitlines() == ["ami", "ephemeral0", "root"]
    assert leaf("block-device-mapping/root") == "/dev/vda"
    assert leaf("block-device-mapping/ephemeral0") == "/dev/vdb"
    assert leaf("instance-action") == "none"
    assert text(client, server, "/2009-04-04/meta-data/instance-id") == f"i-{server.id:08x}"
    assert text(client, server, "/latest/dynamic/") == ""


def test_ec2_without_key_ports_or_floating_ip(client: TestClient, bare: models.Instance) -> None:
    keys = text(client, bare, "/latest/meta-data/").splitlines()
    assert "public-keys/" not in keys and "public-ipv4" not in keys
    get(client, bare, "/latest/meta-data/public-ipv4", 404)
    get(client, bare, "/latest/meta-data/public-keys/", 404)
    get(client, bare, "/latest/user-data", 404)
    assert text(client, bare, "/latest/").splitlines() == ["dynamic/", "meta-data/"]
    assert text(client, bare, "/latest/meta-data/local-ipv4") == ""
    assert text(client, bare, "/latest/meta-data/security-groups") == "default"


# -- refusals -----------------------------------------------------------------------------------


def refused(response: Any, status: int = 403) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/plain")
    if status == 403:
        assert response.text == "Invalid proxy request signature."


def test_bad_or_missing_signature(client: TestClient, server: models.Instance) -> None:
    path = "/openstack/latest/meta_data.json"
    refused(client.get(path))
    headers = signed(server)
    del headers["X-Instance-ID"]
    refused(client.get(path, headers=headers))
    headers = signed(server)
    del headers["X-Instance-ID-Signature"]
    refused(client.get(path, headers=headers))
    refused(client.get(path, headers=signed(server, secret="other")))
    # a signature of another instance does not open this one
    other = signed(server, **{"X-Instance-ID-Signature": metadata_api.sign(SECRET, "x")})
    refused(client.get(path, headers=other))
    refused(client.get("/", headers=signed(server, secret="")))


def test_wrong_tenant(client: TestClient, server: models.Instance) -> None:
    response = client.get("/latest/meta-data/", headers=signed(server, **{"X-Tenant-ID": "p-x"}))
    refused(response)
    # without X-Tenant-ID the signature alone identifies the instance
    headers = signed(server)
    del headers["X-Tenant-ID"]
    assert client.get("/latest/meta-data/instance-id", headers=headers).status_code == 200


def test_unknown_and_deleted_instances(
    client: TestClient, runtime: Runtime, server: models.Instance
) -> None:
    missing = str(uuid.uuid4())
    headers = {
        "X-Instance-ID": missing,
        "X-Instance-ID-Signature": metadata_api.sign(SECRET, missing),
    }
    refused(client.get("/openstack/latest/meta_data.json", headers=headers), 404)
    gone = add_instance(runtime, deleted=True, deleted_at=utcnow())
    refused(client.get("/openstack/latest/meta_data.json", headers=signed(gone)), 404)


@pytest.mark.parametrize(
    "path",
    [
        "/nope",
        "/2001-01-01/meta-data/",
        "/latest/meta-data/nope",
        "/latest/meta-data/instance-id/more",
        "/latest/meta-data/public-keys/0/_name",
        "/latest/meta-data/public-keys/1",
        "/latest/user-data/x",
        "/openstack/2099-01-01",
        "/openstack/latest/nope",
        "/openstack/latest/meta_data.json/x",
        "/openstack/latest/../../../../etc/passwd",
        "/ec2/latest/meta-data.json",
    ],
)
def test_unknown_paths(client: TestClient, server: models.Instance, path: str) -> None:
    refused(client.get(path, headers=signed(server)), 404)


def test_empty_secret_still_requires_the_signature(tmp_path: Path) -> None:
    rt = make_runtime(tmp_path, SERVICE)
    assert compute_conf.Options.from_conf(rt.conf).metadata_proxy_shared_secret == ""
    inst = add_instance(rt)
    assert rt.db is not None
    app = metadata_api.create_app(rt.db, "", cache_seconds=0)
    with TestClient(app) as c:
        refused(c.get("/", headers={"X-Instance-ID": inst.uuid}))
        refused(c.get("/", headers=signed(inst, secret=SECRET)))
        ok = c.get("/latest/meta-data/instance-id", headers=signed(inst, secret=""))
        assert ok.status_code == 200 and ok.text == f"i-{inst.id:08x}"


# -- the config drive ---------------------------------------------------------------------------


def test_config_drive_has_the_apis_content(
    client: TestClient, runtime: Runtime, server: models.Instance, tmp_path: Path
) -> None:
    assert runtime.db is not None
    data = metadata_api.load(runtime.db, server.uuid)
    assert data is not None
    root = tmp_path / "drive"
    configdrive.write_tree(root, data.instance, list(data.vifs), admin_password="pw")
    for version in content.OPENSTACK_VERSIONS:
        d = root / "openstack" / version
        # the drive is read-only: no password file to post to
        listed = text(client, server, f"/openstack/{version}").splitlines()
        listed = [n for n in listed if n != "password"]
        assert sorted(p.name for p in d.iterdir()) == sorted(listed)
        for name in listed:
            served = get(client, server, f"/openstack/{version}/{name}").content
            if name == "meta_data.json":
                drive, api = json.loads((d / name).read_bytes()), json.loads(served)
                assert drive.pop("admin_pass") == "pw"
                drive.pop("random_seed", None)
                api.pop("random_seed", None)
                assert drive == api
            else:
                assert (d / name).read_bytes() == served, (version, name)
    for version in content.EC2_VERSIONS:
        d = root / "ec2" / version
        md = json.loads((d / "meta-data.json").read_text())
        assert md["instance-id"] == text(client, server, f"/{version}/meta-data/instance-id")
        assert (d / "user-data").read_bytes() == USER_DATA
    latest = json.loads((root / "ec2" / "latest" / "meta-data.json").read_text())
    assert latest["public-keys"]["0"]["openssh-key"] == KEY
    assert latest["public-ipv4"] == "172.24.4.10"


# -- the deployment -----------------------------------------------------------------------------


def test_deployment_shares_one_secret() -> None:
    from tinystack.network.service import SERVICE as NETWORK

    def conf(**configured: str) -> Any:
        c = config.make_conf([])
        for spec in (SERVICE, NETWORK):
            config.register_service_opts(c, spec.name, spec.default_port)
            spec.register_opts(c)
        for group, value in configured.items():
            c.set_override("metadata_proxy_shared_secret", value, group=group)
        return c

    generated = conf()
    runner.share_metadata_secret(generated, "gen")
    assert generated.compute.metadata_proxy_shared_secret == "gen"
    assert generated.network.metadata_proxy_shared_secret == "gen"
    from_network = conf(network="mine")
    runner.share_metadata_secret(from_network, "gen")
    assert from_network.compute.metadata_proxy_shared_secret == "mine"
    from_compute = conf(compute="ours")
    runner.share_metadata_secret(from_compute, "gen")
    assert from_compute.network.metadata_proxy_shared_secret == "ours"


def test_runner_checks_listener_ports(runtime: Runtime, listener: Listener) -> None:
    cloud = runner.Cloud(runtime.conf, progress=lambda _: None)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        taken = Listener("metadata", "127.0.0.1", port, listener.app)
        api_port = free_port()
        cloud.services.append(
            runner.RunningService(SERVICE, runtime, listener.app, api_port, "", [taken])
        )
        with pytest.raises(SystemExit, match=f"compute metadata: cannot listen on .*:{port}"):
            cloud._check_ports()
    clash = Listener("metadata", "127.0.0.1", api_port, listener.app)
    cloud.services[0].listeners = [clash]
    with pytest.raises(SystemExit, match=f"port {api_port} is also configured for compute"):
        cloud._check_ports()


# -- through a real cloud -----------------------------------------------------------------------


def test_metadata_port_of_a_real_cloud(make_env: MakeEnv, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    env = make_env("", ["identity", "placement", "image", "compute", "network"])
    cloud = env.cloud
    demo = "tinystack-demo"
    public_key = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    (tmp_path / "key.pub").write_text(public_key + "\n")
    (tmp_path / "user-data").write_bytes(USER_DATA)
    cloud.osc("keypair", "create", "--public-key", str(tmp_path / "key.pub"), "md-key", cloud=demo)
    # a second network without DHCP: its address is described statically
    cloud.osc("network", "create", "md-static", cloud=demo)
    cloud.osc(
        "subnet",
        "create",
        "--network",
        "md-static",
        "--subnet-range",
        "192.168.77.0/24",
        "--no-dhcp",
        "--dns-nameserver",
        "192.168.77.53",
        "md-static-subnet",
        cloud=demo,
    )
    created = cloud.osc(
        "server",
        "create",
        "--image",
        env.image,
        "--flavor",
        "1",
        "--network",
        "private",
        "--network",
        "md-static",
        "--key-name",
        "md-key",
        "--user-data",
        str(tmp_path / "user-data"),
        "--property",
        "purpose=metadata",
        "md-vm",
        cloud=demo,
    )
    server = env.wait(created["id"], "ACTIVE", "ERROR", timeout=60)
    assert server["status"] == "ACTIVE", server.get("fault")
    secret = cloud.password("metadata_proxy_shared_secret")
    sid, project = server["id"], server["tenant_id"]
    headers = {
        "X-Instance-ID": sid,
        "X-Tenant-ID": project,
        "X-Forwarded-For": "10.0.0.9",
        "X-Instance-ID-Signature": metadata_api.sign(secret, sid),
    }
    base = f"http://127.0.0.1:{cloud.metadata_port}"
    with httpx.Client(base_url=base, headers=headers, timeout=30) as md:
        meta = md.get("/openstack/latest/meta_data.json")
        assert meta.status_code == 200, meta.text
        assert meta.headers["content-type"] == "application/json"
        body = meta.json()
        assert body["uuid"] == sid and body["hostname"] == "md-vm.novalocal"
        assert {k: v.strip() for k, v in body["public_keys"].items()} == {"md-key": public_key}
        assert body["meta"] == {"purpose": "metadata"}
        assert md.get("/openstack/latest/user_data").content == USER_DATA
        ports = {p["ID"]: p for p in cloud.osc("port", "list", "--server", sid)}
        assert len(ports) == 2
        nd = md.get("/openstack/latest/network_data.json").json()
        links = {link["vif_id"]: link for link in nd["links"]}
        assert set(links) == set(ports)
        for port_id, port in ports.items():
            assert links[port_id]["ethernet_mac_address"] == port["MAC Address"]
        by_type = {n["type"]: n for n in nd["networks"]}
        assert set(by_type) == {"ipv4_dhcp", "ipv4"}
        static = by_type["ipv4"]
        assert static["ip_address"].startswith("192.168.77.")
        assert static["netmask"] == "255.255.255.0"
        assert static["routes"][0]["gateway"] == "192.168.77.1"
        assert nd["services"] == [{"type": "dns", "address": "192.168.77.53"}]
        addresses = json.dumps([p["Fixed IP Addresses"] for p in ports.values()])
        local = md.get("/latest/meta-data/local-ipv4").text
        assert local and local in addresses
        assert md.get("/latest/meta-data/instance-id").text.startswith("i-")
        assert md.get("/latest/meta-data/public-keys/").text == "0=md-key"
        assert md.get("/latest/meta-data/public-keys/0/openssh-key").text.strip() == public_key
        assert md.get("/latest/user-data").content == USER_DATA
        forged = md.get("/", headers={"X-Instance-ID-Signature": metadata_api.sign("x", sid)})
        assert forged.status_code == 403
