"""A cloud with ``[DEFAULT] tls_cert_file``: every API over https with a throwaway CA,
the catalog and clouds.yaml follow, the openstack CLI works through it; the body limit on
the running APIs; secrets only in files of mode 0600; no password or token in the log of
a cloud run with ``--debug``."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import stat
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.cloudproc import CloudProcess


def _cert(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[str, Any] | None
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    signer_name, signer_key = issuer or (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, signer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
    else:
        sans = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), False)
    return builder.sign(signer_key, hashes.SHA256())


def _pem(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def throwaway_ca(directory: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key) for 127.0.0.1/localhost."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("tinystack test CA", ca_key, None)
    key = ec.generate_private_key(ec.SECP256R1())
    server = _cert("127.0.0.1", key, ("tinystack test CA", ca_key))
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_file = _pem(directory / "server.key", key_pem)
    key_file.chmod(0o600)
    return (
        _pem(directory / "ca.pem", ca.public_bytes(pem)),
        _pem(directory / "server.pem", server.public_bytes(pem)),
        key_file,
    )


class TlsCloud(CloudProcess):
    """A CloudProcess whose APIs answer https, verified with the test's CA."""

    ca_file: Path

    @property
    def auth_url(self) -> str:
        return f"https://127.0.0.1:{self.ports['identity']}/v3"

    def _answers(self) -> bool:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        try:
            with urllib.request.urlopen(self.auth_url, timeout=1, context=context) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError):
            return False


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsCloud]:
    certs = tmp_path_factory.mktemp("tls-ca")
    ca, cert, key = throwaway_ca(certs)
    conf = f"[DEFAULT]\ntls_cert_file = {cert}\ntls_key_file = {key}\ntls_ca_file = {ca}\n"
    services = ["identity", "placement", "image", "compute", "network"]
    proc = TlsCloud(Path(tmp_path_factory.mktemp("tls")), services, conf)
    proc.ca_file = ca
    proc.extra_args = ["--debug"]
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def http(cloud: TlsCloud) -> Iterator[httpx.Client]:
    with httpx.Client(verify=ssl.create_default_context(cafile=str(cloud.ca_file))) as client:
        yield client


def test_every_api_over_https_with_the_cli(cloud: TlsCloud, tmp_path: Path) -> None:
    clouds = yaml.safe_load((cloud.state_dir / "clouds.yaml").read_text())["clouds"]
    admin = clouds["tinystack-admin"]
    assert admin["auth"]["auth_url"] == cloud.auth_url
    assert admin["cacert"] == str(cloud.ca_file)
    assert f"OS_CACERT={cloud.ca_file}" in (cloud.state_dir / "admin-openrc").read_text()
    endpoints = cloud.osc("endpoint", "list")
    assert {e["Service Type"] for e in endpoints} >= {"identity", "image", "compute", "network"}
    assert all(e["URL"].startswith("https://127.0.0.1:") for e in endpoints), endpoints
    # a 200 KB upload through the https image endpoint (data streams: no body limit)
    data = tmp_path / "disk.raw"
    data.write_bytes(b"\x5a" * 200_000)
    image = cloud.osc(
        "image", "create", "--file", str(data), "--disk-format", "raw",
        "--container-format", "bare", "tls-image",
    )  # fmt: skip
    assert image["status"] == "active" and image["size"] == 200_000
    # a boot: compute calls placement, image and network over https, verifying the CA
    cloud.osc("network", "create", "tls-net")
    cloud.osc("subnet", "create", "--network", "tls-net", "--subnet-range", "10.77.0.0/24", "s")
    server = cloud.osc(
        "server", "create", "--image", "tls-image", "--flavor", "m1.tiny",
        "--network", "tls-net", "--wait", "tls-vm",
    )  # fmt: skip
    assert server["status"] == "ACTIVE"
    # the console proxy serves the certificate too, and its links say so
    url = cloud.osc("console", "url", "show", "--novnc", "tls-vm")["url"]
    assert url.startswith(f"https://127.0.0.1:{cloud.console_ports['novncproxy']}/")
    context = ssl.create_default_context(cafile=str(cloud.ca_file))
    with httpx.Client(verify=context) as client:
        assert client.get(url).status_code in (200, 404)  # 404: noVNC not installed
    # nothing answers plain http, and the certificate is only trusted through the CA
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{cloud.ports['identity']}/v3", timeout=5)
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(cloud.auth_url, timeout=5)


def test_body_limit_on_the_running_apis(cloud: TlsCloud, http: httpx.Client) -> None:
    token = cloud.token()
    headers = {"X-Auth-Token": token}
    body = {"project": {"name": "big", "description": "x" * 120_000}}
    resp = http.post(cloud.auth_url + "/projects", json=body, headers=headers)
    assert resp.status_code == 413
    assert resp.json()["error"] == {
        "code": 413, "message": "Request is too large.", "title": "Request Entity Too Large"
    }  # fmt: skip
    image_url = f"https://127.0.0.1:{cloud.ports['image']}/v2/images"
    resp = http.post(image_url, json={"name": "x" * 120_000}, headers=headers)
    assert resp.status_code == 413 and resp.text.startswith("413 Request Entity Too Large")
    assert not [p for p in cloud.osc("project", "list") if p["Name"] == "big"]


def test_secrets_only_in_private_files_and_never_logged(
    cloud: TlsCloud, http: httpx.Client
) -> None:
    admin_password = cloud.password("admin")
    token = cloud.token()
    # a wrong password, a token validated, an invalid token and a password change
    bad = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": "admin",
                        "domain": {"id": "default"},
                        "password": admin_password + "x",
                    }
                },
            }
        }
    }
    assert http.post(cloud.auth_url + "/auth/tokens", json=bad).status_code == 401
    headers = {"X-Auth-Token": token, "X-Subject-Token": token}
    assert http.get(cloud.auth_url + "/auth/tokens", headers=headers).status_code == 200
    resp = http.get(cloud.auth_url + "/projects", headers={"X-Auth-Token": token[:-4] + "AAAA"})
    assert resp.status_code == 401
    log = cloud.log_file.read_bytes()
    assert b"ready in" in log and b"DEBUG" in log  # the run did log, verbosely
    secrets = [admin_password, cloud.password("demo"), cloud.password("image"), token]
    for secret in secrets:
        assert secret.encode() not in log, "a secret is in the cloud's log"
    # files: only the secrets files hold the passwords, and they are 0600
    holders = set()
    for path in cloud.state_dir.rglob("*"):
        if not path.is_file() or path.stat().st_size > 16 << 20:
            continue
        if admin_password.encode() in path.read_bytes():
            holders.add(path.name)
    assert holders == {"secrets.json", "clouds.yaml", "admin-openrc"}
    private = [cloud.state_dir / name for name in holders]
    private += [p for p in (cloud.state_dir / "fernet-keys").iterdir() if p.is_file()]
    credential_keys = cloud.state_dir / "credential-keys"
    private += [p for p in credential_keys.iterdir() if p.is_file()]
    private.append(cloud.state_dir / "demo-openrc")
    assert len(private) >= 8
    for path in private:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_contexts_and_credentials_never_show_secrets() -> None:
    """What a log line may format (a context, the service user) leaves the secret out."""
    from tinystack.common.auth.context import RequestContext
    from tinystack.common.cloud import ServiceCredentials
    from tinystack.common.rpc.context import CallContext

    shown = repr([
        ServiceCredentials("nova", "pw-secret"),
        CallContext("req-1", token="tok-secret"),
        RequestContext("req-2", token="tok-secret2"),
    ])  # fmt: skip
    assert "secret" not in shown and "nova" in shown and "req-2" in shown
