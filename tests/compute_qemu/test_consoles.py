"""Consoles end to end: a real ``tinystack up`` with the QEMU driver, one guest, its noVNC
console in Debian's chromium (through playwright, never a downloaded browser), the RFB
handshake through the proxy's WebSocket, tokens that expire and are used once, and the
serial console's bytes.

The test image is dropped in ``<state_dir>/bootstrap-images`` before the start, as in
``test_cli.py``; every QEMU started under the state directory is killed by PID at the end.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import sqlite3
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin, Subprotocol

from tests.cloudproc import CloudProcess
from tests.compute_qemu import libvirt_host
from tests.compute_qemu.conftest import LIBVIRT_SKIP, READY, cleanup_state

pytestmark = pytest.mark.cli

EXTRA_CONF = """
[compute]
compute_driver = tinystack.compute.virt.qemu.factory:qemu_driver
accel = tcg
vnc_port_min = 17500
vnc_port_max = 17599
"""
#: the same consoles with the libvirt driver (its guests as tslv- domains)
LIBVIRT_CONF = f"""
[compute]
compute_driver = libvirt
libvirt_domain_prefix = {libvirt_host.PREFIX}
accel = tcg
vnc_port_min = 17600
vnc_port_max = 17699
"""
CHROMIUM = "/usr/bin/chromium"


class Consoles:
    def __init__(self, proc: CloudProcess) -> None:
        self.proc = proc
        self.novnc_port = proc.console_ports["novncproxy"]
        self.serial_port = proc.console_ports["serialproxy"]
        self.api = httpx.Client(
            base_url=proc.endpoint("compute"),
            headers={"X-Auth-Token": proc.token(), "OpenStack-API-Version": "compute latest"},
            timeout=30,
        )

    def url(self, kind: str, server: str) -> str:
        return str(self.proc.osc("console", "url", "show", f"--{kind}", server)["url"])

    def expire(self, token: str) -> None:
        """Age a token past its expiry (as ``[console] token_ttl`` seconds would)."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        with sqlite3.connect(self.proc.state_dir / "compute.sqlite") as db:
            db.execute("UPDATE console_auth_tokens SET expires = 0 WHERE token_hash = ?", [digest])


def token_of(url: str) -> str:
    query = parse_qs(urlsplit(url).query)
    if "path" in query:  # noVNC: path=?token=...
        query = parse_qs(urlsplit(unquote(query["path"][0])).query)
    return query["token"][0]


@pytest.fixture(
    scope="module",
    params=[
        "qemu",
        pytest.param(
            "libvirt", marks=pytest.mark.skipif(bool(LIBVIRT_SKIP), reason=str(LIBVIRT_SKIP))
        ),
    ],
)
def cloud(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, test_image: Path
) -> Iterator[Consoles]:
    state = tmp_path_factory.mktemp("tsq-consoles")
    (state / "bootstrap-images").mkdir()
    shutil.copyfile(test_image, state / "bootstrap-images" / "tinystack-test.qcow2")
    libvirt = request.param == "libvirt"
    with libvirt_host.running_libvirtd() if libvirt else contextlib.nullcontext():
        proc = CloudProcess(
            state,
            ["identity", "placement", "image", "compute"],
            LIBVIRT_CONF if libvirt else EXTRA_CONF,
        )
        proc.start(timeout=120)
        try:
            yield Consoles(proc)
        finally:
            proc.stop()
            if libvirt:
                libvirt_host.remove_test_domains()
            cleanup_state(state)


@pytest.fixture(scope="module")
def guest(cloud: Consoles) -> str:
    """One server shared by the module, booted to its login prompt."""
    result = cloud.proc.osc_raw(
        "server", "create", "--image", "tinystack-test", "--flavor", "m1.tiny", "--wait", "-f",
        "json", "vm-console",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    sid = str(json.loads(result.stdout[result.stdout.index("{") :])["id"])
    deadline = time.monotonic() + 90
    body = {"os-getConsoleOutput": {"length": 50}}
    while READY not in (output := cloud.api.post(f"/servers/{sid}/action", json=body).text):
        assert time.monotonic() < deadline, f"the guest did not boot:\n{output}"
        time.sleep(0.5)
    return sid


def test_bootstrap_image_is_owned_by_admin(cloud: Consoles) -> None:
    admin_project = cloud.proc.osc("token", "issue")["project_id"]
    image = cloud.proc.osc("image", "show", "tinystack-test")
    assert image["owner"] == admin_project


def test_novnc_in_chromium(cloud: Consoles, guest: str, tmp_path: Path) -> None:
    """The URL `console url show --novnc` gives loads noVNC, which connects through the proxy
    and draws the guest's screen; the token cannot be used again."""
    from playwright.sync_api import sync_playwright

    url = cloud.url("novnc", guest)
    assert urlsplit(url).port == cloud.novnc_port and "/vnc_lite.html?" in url
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page()
            page.goto(url)
            page.wait_for_function(
                "document.getElementById('status')?.textContent.startsWith('Connected')",
                timeout=30000,
            )
            drawn = page.wait_for_function(
                """() => {
                    const canvas = document.querySelector('#screen canvas');
                    if (!canvas || !canvas.width) return 0;
                    const ctx = canvas.getContext('2d');
                    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
                    let lit = 0;
                    for (let i = 0; i < data.length; i += 4)
                        if (data[i] || data[i + 1] || data[i + 2]) lit++;
                    return lit > 100 ? lit : 0;
                }""",
                timeout=30000,
                polling=250,
            ).json_value()
            page.screenshot(path=str(tmp_path / "novnc.png"))
        finally:
            browser.close()
    assert int(drawn) > 100
    with pytest.raises(InvalidStatus) as refused:
        connect(f"ws://127.0.0.1:{cloud.novnc_port}/?token={token_of(url)}").close()
    assert refused.value.response.status_code == 403


def rfb_handshake(ws: ClientConnection) -> tuple[int, int, bytes]:
    """RFB 3.8 with no authentication up to the ServerInit: (width, height, name)."""
    buffer = b""

    def read(count: int) -> bytes:
        nonlocal buffer
        while len(buffer) < count:
            message = ws.recv(timeout=10)
            buffer += message if isinstance(message, bytes) else message.encode()
        data, buffer = buffer[:count], buffer[count:]
        return data

    assert read(12) == b"RFB 003.008\n"
    ws.send(b"RFB 003.008\n")
    types = read(read(1)[0])
    assert 1 in types, f"security types {list(types)}"  # None
    ws.send(b"\x01")
    assert read(4) == b"\0\0\0\0"  # SecurityResult OK
    ws.send(b"\x01")  # ClientInit, shared
    width, height = struct.unpack("!HH", read(4))
    read(16)  # pixel format
    (length,) = struct.unpack("!I", read(4))
    return width, height, read(length)


def test_tokens_rfb_and_refusals(cloud: Consoles, guest: str) -> None:
    token = token_of(cloud.url("novnc", guest))
    shown = cloud.api.get(f"/os-console-auth-tokens/{token}").json()["console"]
    assert shown["instance_uuid"] == guest and shown["port"] >= 17500
    # a noVNC token means nothing to the serial proxy (and is not spent there)
    with pytest.raises(InvalidStatus):
        connect(f"ws://127.0.0.1:{cloud.serial_port}/?token={token}").close()
    with connect(
        f"ws://127.0.0.1:{cloud.novnc_port}/?token={token}", subprotocols=[Subprotocol("binary")]
    ) as ws:
        width, height, name = rfb_handshake(ws)
    assert width >= 640 and height >= 400
    # the VNC desktop is named after QEMU's guest name: libvirt's is the domain's
    assert b"(instance-" in name or f"({libvirt_host.PREFIX}".encode() in name
    # single use: the proxy took it, the admin API no longer knows it
    with pytest.raises(InvalidStatus):
        connect(f"ws://127.0.0.1:{cloud.novnc_port}/?token={token}").close()
    assert cloud.api.get(f"/os-console-auth-tokens/{token}").status_code == 404
    # expired: refused, though never used
    stale = token_of(cloud.url("novnc", guest))
    cloud.expire(stale)
    with pytest.raises(InvalidStatus):
        connect(f"ws://127.0.0.1:{cloud.novnc_port}/?token={stale}").close()
    # a page on another origin may not open a console
    other = token_of(cloud.url("novnc", guest))
    with pytest.raises(InvalidStatus):
        connect(
            f"ws://127.0.0.1:{cloud.novnc_port}/?token={other}",
            origin=Origin("http://evil.example"),
        ).close()
    for bad in ("", "nope"):
        with pytest.raises(InvalidStatus):
            connect(f"ws://127.0.0.1:{cloud.novnc_port}/?token={bad}").close()


def test_serial_console(cloud: Consoles, guest: str) -> None:
    url = cloud.url("serial", guest)
    assert url.startswith(f"ws://127.0.0.1:{cloud.serial_port}/?token=")
    seen = b""
    with connect(url) as ws:
        deadline = time.monotonic() + 30
        while b"login:" not in seen:
            assert time.monotonic() < deadline, f"no login prompt on the serial console: {seen!r}"
            ws.send(b"\r")
            try:
                while True:
                    message: Any = ws.recv(timeout=1)
                    seen += message if isinstance(message, bytes) else message.encode()
            except TimeoutError:
                pass
    assert b"login:" in seen
    with pytest.raises(InvalidStatus):
        connect(url).close()
