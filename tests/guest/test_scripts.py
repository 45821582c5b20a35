"""The guest's shell side, run under the host's busybox sh (no QEMU)."""

from __future__ import annotations

import functools
import http.server
import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.guest.conftest import Shell
from tinystack.guest import scripts

UUID = "d8e02d56-2648-49a3-bf97-6be8f1204f38"
KEY1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOne one@example"
KEY2 = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQTwo Generated-by-Nova"

# what nova writes: "meta" (user metadata) and "keys" also hold "name"/"uuid"-like keys
NOVA_METADATA = {
    "meta": {"uuid": "not-the-uuid", "name": "not-the-name", "hostname": "nope"},
    "keys": [
        {"name": "one", "type": "ssh", "data": KEY1 + "\n"},
        {"name": "two", "type": "ssh", "data": KEY2 + "\n"},
    ],
    "public_keys": {"one": KEY1 + "\n", "two": KEY2 + "\n"},
    "uuid": UUID,
    "hostname": "test-vm.novalocal",
    "name": "Test VM",
    "launch_index": 0,
    "availability_zone": "nova",
    "random_seed": "q2/+ZmFrZQ==",
    "project_id": "6a3b1d0c8b8a4a1f9e4f0e1c2b3a4d5e",
    "devices": [],
    "dedicated_cpus": [],
}


def write_md(directory: Path, data: object, indent: int | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "meta_data.json"
    path.write_text(json.dumps(data, indent=indent))
    return path


# --- JSON extraction ---------------------------------------------------------------------


@pytest.mark.parametrize("indent", [None, 2])
def test_json_get_reads_top_level_fields_not_nested_ones(sh: Shell, indent: int | None) -> None:
    md = write_md(sh.workdir / "md", NOVA_METADATA, indent)
    assert sh.out(f"json_get {md} uuid") == UUID + "\n"
    assert sh.out(f"json_get {md} hostname") == "test-vm.novalocal\n"
    assert sh.out(f"json_get {md} name") == "Test VM\n"
    assert sh.out(f"json_get {md} meta.uuid") == "not-the-uuid\n"
    assert sh.out(f"json_get {md} keys.1.name") == "two\n"
    assert sh.out(f"json_get {md} launch_index") == "0\n"


def test_json_flatten_paths_escapes_and_literals(sh: Shell) -> None:
    doc = (
        '{"s": "a\\"b\\\\c\\/d\\u0041\\u00e9", "n": -1.5e3, "t": true, "z": null, '
        '"e": "", "o": {}, "a": [], "nested": {"list": [{"k": "v"}, ["x", "y"]]}, '
        '"multi": "line1\\nline2\\n", "sp ace": "ok", "tab": "a\\tb"}'
    )
    (sh.workdir / "doc.json").write_text(doc)
    lines = sh.out("json_flatten doc.json").splitlines()
    assert lines == [
        's\ta"b\\c/dA?',
        "n\t-1.5e3",
        "t\ttrue",
        "z\tnull",
        "e\t",
        "nested.list.0.k\tv",
        "nested.list.1.0\tx",
        "nested.list.1.1\ty",
        "multi\tline1",
        "multi\tline2",
        "sp ace\tok",
        "tab\ta\tb",
    ]
    assert sh.out("json_get doc.json tab") == "a\tb\n"
    assert sh.out("json_get doc.json 'sp ace'") == "ok\n"


def test_json_get_missing_file_or_key(sh: Shell) -> None:
    md = write_md(sh.workdir / "md", {"uuid": UUID})
    assert sh.run("json_get nowhere.json uuid").returncode != 0
    assert sh.out(f"json_get {md} hostname") == ""


def test_json_get_prefix_deduplicates(sh: Shell) -> None:
    md = write_md(sh.workdir / "md", {"public_keys": {"a": "k1\n", "b": "k2", "c": "k1"}})
    assert sh.out(f"json_get_prefix {md} public_keys.") == "k1\nk2\n"


# --- metadata -> hostname, instance id, keys ---------------------------------------------


def apply(sh: Shell, md_dir: Path, env: dict[str, str] | None = None) -> list[str]:
    out = sh.out(f'ts_apply_metadata {md_dir}; echo "$TS_HOSTNAME"; echo "$TS_INSTANCE_ID"', env)
    return out.splitlines()


def test_apply_metadata_from_nova_metadata(sh: Shell) -> None:
    md_dir = sh.workdir / "md"
    write_md(md_dir, NOVA_METADATA)
    assert apply(sh, md_dir) == ["test-vm", UUID]
    assert (md_dir / "authorized_keys").read_text() == f"{KEY1}\n{KEY2}\n"


def test_apply_metadata_falls_back_to_name_dhcp_and_default(sh: Shell) -> None:
    md_dir = sh.workdir / "md"
    write_md(md_dir, {"uuid": UUID, "name": "Test VM"})
    assert apply(sh, md_dir) == ["Test-VM", UUID]
    assert (md_dir / "authorized_keys").read_text() == ""
    write_md(md_dir, {"uuid": UUID})
    (sh.workdir / "state").mkdir()
    (sh.workdir / "state" / "dhcp-hostname").write_text("from-dhcp\n")
    assert apply(sh, md_dir) == ["from-dhcp", UUID]
    empty = sh.workdir / "none"  # no metadata at all: the directory does not even exist
    (sh.workdir / "state" / "dhcp-hostname").unlink()
    assert apply(sh, empty) == ["tinystack-guest", ""]
    assert (empty / "authorized_keys").read_text() == ""


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("vm1.novalocal", "vm1"),
        ("my_server 2", "my-server-2"),
        ("x" * 80, "x" * 63),
        ("", ""),
    ],
)
def test_clean_hostname(sh: Shell, raw: str, clean: str) -> None:
    assert sh.out(f"ts_clean_hostname '{raw}'").strip() == clean


def test_install_keys_for_every_user(sh: Shell) -> None:
    keys = sh.workdir / "keys"
    keys.write_text(f"{KEY1}\n{KEY2}\n")
    users = f"root:{sh.workdir}/root cirros:{sh.workdir}/home/cirros"
    out = sh.out(f"ts_install_keys {keys}", {"TS_KEY_USERS": users})
    assert "installed 2 public key(s)" in out
    for home in ("root", "home/cirros"):
        auth = sh.workdir / home / ".ssh" / "authorized_keys"
        assert auth.read_text() == keys.read_text()
        assert auth.stat().st_mode & 0o777 == 0o600
        assert auth.parent.stat().st_mode & 0o777 == 0o700
    sh.out("ts_install_keys /nonexistent")


def test_copy_openstack_tree_like_a_mounted_config_drive(sh: Shell) -> None:
    drive = sh.workdir / "drive" / "openstack" / "latest"
    write_md(drive, NOVA_METADATA)
    (drive / "user_data").write_text("#!/bin/sh\necho hi\n")
    (drive / "network_data.json").write_text("{}")
    dest = sh.workdir / "md"
    sh.out(f"ts_copy_openstack_tree {sh.workdir / 'drive'} {dest}")
    assert sorted(p.name for p in dest.iterdir()) == [
        "meta_data.json",
        "network_data.json",
        "user_data",
    ]
    assert sh.run(f"ts_copy_openstack_tree {sh.workdir} {dest}").returncode == 1


# --- metadata service --------------------------------------------------------------------


@pytest.fixture
def md_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "served"
    (root / "openstack" / "latest").mkdir(parents=True)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root / "openstack" / "latest"
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_metadata_service(sh: Shell, md_server: tuple[str, Path]) -> None:
    url, latest = md_server
    write_md(latest, NOVA_METADATA)
    dest = sh.workdir / "md"
    out = sh.out(f"ts_fetch_metadata_service {dest}", {"TS_MD_URL": url})
    assert f"metadata from {url}" in out
    assert json.loads((dest / "meta_data.json").read_text())["uuid"] == UUID
    assert not (dest / "user_data").exists()  # the 404 means "no user_data"
    assert not list(dest.glob("*.part"))
    (latest / "user_data").write_text("#!/bin/sh\necho hi\n")
    sh.out(f"ts_fetch_metadata_service {dest}", {"TS_MD_URL": url})
    assert (dest / "user_data").read_text() == "#!/bin/sh\necho hi\n"


def test_fetch_metadata_service_gives_up_after_the_retries(sh: Shell) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"TS_MD_URL": f"http://127.0.0.1:{port}", "TS_MD_TRIES": "2", "TS_MD_TIMEOUT": "1"}
    started = time.monotonic()
    proc = sh.run(f"ts_fetch_metadata_service {sh.workdir / 'md'}", env)
    assert proc.returncode == 1
    assert "no metadata service" in proc.stdout
    assert time.monotonic() - started < 10


# --- user_data ---------------------------------------------------------------------------


def test_run_user_data_script_in_background(sh: Shell) -> None:
    (sh.workdir / "state").mkdir()
    (sh.workdir / "log").mkdir()
    ud = sh.workdir / "user_data"
    ud.write_text("#!/bin/sh\necho USERDATA-RAN $0\nexit 3\n")
    out = sh.out(f"ts_run_user_data {ud}; wait")
    assert "USERDATA-RAN" in out
    assert f"{scripts.USERDATA_MARKER} exit=3" in out
    assert "USERDATA-RAN" in (sh.workdir / "log" / "user-data.log").read_text()


def test_user_data_that_is_not_a_script_is_not_run(sh: Shell) -> None:
    ud = sh.workdir / "user_data"
    ud.write_text("#cloud-config\nruncmd: [touch /tmp/x]\n")
    out = sh.out(f"ts_run_user_data {ud}; ts_run_user_data {sh.workdir}/absent; wait")
    assert "not a script" in out
    assert scripts.USERDATA_MARKER not in out


# --- network -----------------------------------------------------------------------------


@pytest.fixture
def fake_ip(sh: Shell) -> Path:
    """An ``ip`` function recording its arguments (with canned output for ``-o addr``)."""
    log = sh.workdir / "ip.log"
    prelude = sh.workdir / "fake-ip.sh"
    prelude.write_text(
        "ip() {\n"
        f'    echo "$*" >> {log}\n'
        '    case "$*" in *"-o addr"*)\n'
        "        echo '2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global eth0\\  valid'\n"
        "        echo '3: eth1    inet 192.168.7.9/25 scope global eth1\\       valid'\n"
        "    ;; esac\n"
        "}\n"
    )
    sh.preludes.append(prelude)
    return log


def test_addresses(sh: Shell, fake_ip: Path) -> None:
    assert sh.out("ts_addresses") == "10.0.0.5,192.168.7.9"


def run_udhcpc_script(
    sh: Shell, event: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    script = sh.workdir / "default.script"
    script.write_text(scripts.UDHCPC_SCRIPT)
    env = {"TS_RESOLV_CONF": str(sh.workdir / "resolv.conf"), **env}
    return sh.run(f"set -- {event}; . {script}", env)


def test_udhcpc_bound_with_router_dns_and_mtu(sh: Shell, fake_ip: Path) -> None:
    env = {
        "interface": "eth1",
        "ip": "10.0.0.5",
        "mask": "24",
        "broadcast": "10.0.0.255",
        "router": "10.0.0.1 10.0.0.254",
        "dns": "10.0.0.2 9.9.9.9",
        "domain": "example.org",
        "mtu": "1450",
        "hostname": "dhcp-name",
    }
    assert run_udhcpc_script(sh, "bound", env).returncode == 0
    assert fake_ip.read_text().splitlines() == [
        "link set dev eth1 mtu 1450",
        "-4 addr flush dev eth1",
        "addr add 10.0.0.5/24 broadcast 10.0.0.255 dev eth1",
        "route replace default via 10.0.0.1 dev eth1 metric 101",
    ]
    resolv = (sh.workdir / "resolv.conf").read_text()
    assert resolv == "search example.org\nnameserver 10.0.0.2\nnameserver 9.9.9.9\n"
    assert (sh.workdir / "state" / "dhcp-hostname").read_text() == "dhcp-name\n"
    # a renewal of the same address leaves the address alone
    fake_ip.unlink()
    assert run_udhcpc_script(sh, "renew", env).returncode == 0
    assert "addr flush" not in fake_ip.read_text()


def test_udhcpc_classless_static_routes_replace_the_router(sh: Shell, fake_ip: Path) -> None:
    env = {
        "interface": "eth0",
        "ip": "10.0.0.5",
        "mask": "24",
        "router": "10.0.0.1",
        "staticroutes": "169.254.169.254/32 10.0.0.2 10.0.0.0/24 0.0.0.0 0.0.0.0/0 10.0.0.1",
    }
    assert run_udhcpc_script(sh, "bound", env).returncode == 0
    routes = [line for line in fake_ip.read_text().splitlines() if "route" in line]
    assert routes == [
        "route replace 169.254.169.254/32 via 10.0.0.2 dev eth0 metric 100",
        "route replace 10.0.0.0/24 dev eth0",
        "route replace 0.0.0.0/0 via 10.0.0.1 dev eth0 metric 100",
    ]
    assert not (sh.workdir / "resolv.conf").exists()


def test_udhcpc_deconfig(sh: Shell, fake_ip: Path) -> None:
    assert run_udhcpc_script(sh, "deconfig", {"interface": "eth0"}).returncode == 0
    assert fake_ip.read_text().splitlines() == ["-4 addr flush dev eth0", "link set dev eth0 up"]


# --- the files themselves ----------------------------------------------------------------


def test_every_shell_script_parses(sh: Shell) -> None:
    for path, (content, _mode) in scripts.etc_files().items():
        if not content.startswith("#!/bin/sh") and path != "lib/tinystack/functions.sh":
            continue
        target = sh.workdir / "check.sh"
        target.write_text(content)
        proc = subprocess.run([str(sh.bindir / "sh"), "-n", str(target)], capture_output=True)
        assert proc.returncode == 0, (path, proc.stderr)


def test_markers_are_in_the_scripts() -> None:
    for marker in (scripts.READY_MARKER, scripts.METADATA_MARKER, scripts.USERDATA_MARKER):
        assert marker in scripts.FUNCTIONS
    assert "_MARKER" not in scripts.FUNCTIONS
    assert (
        'echo "TINYSTACK-GUEST-READY hostname=$TS_HOSTNAME instance-id=$TS_INSTANCE_ID '
        'addresses=$(ts_addresses)"' in scripts.FUNCTIONS
    )
    assert scripts.INIT_MARKER in scripts.INIT
    assert scripts.SHUTDOWN_MARKER in scripts.RCK


def test_inittab_handles_ctrl_alt_del_and_shutdown() -> None:
    lines = scripts.INITTAB.splitlines()
    assert "::sysinit:/etc/init.d/rcS" in lines
    assert "::ctrlaltdel:/sbin/reboot" in lines
    assert "::shutdown:/etc/init.d/rcK" in lines
    assert "etc/acpi/PWRF/00000080" in scripts.etc_files()


def test_grub_cfg() -> None:
    cfg = scripts.grub_cfg()
    assert "set timeout=0" in cfg
    assert "serial --unit=0 --speed=115200" in cfg
    assert "terminal_output serial console" in cfg
    linux = next(line.split() for line in cfg.splitlines() if line.strip().startswith("linux "))
    assert linux[1] == "/boot/vmlinuz"
    consoles = [arg for arg in linux if arg.startswith("console=")]
    assert consoles[-1].startswith("console=ttyS0")  # the last one is /dev/console
    assert "initrd /boot/initrd.gz" in cfg


def test_cirros_password_hash(busybox_bin: Path) -> None:
    salt = scripts.CIRROS_PASSWORD_HASH.split("$")[2]
    out = subprocess.run(
        [str(busybox_bin / "mkpasswd"), "-m", "sha512", scripts.CIRROS_PASSWORD, salt],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == scripts.CIRROS_PASSWORD_HASH
    assert f"cirros:{out}:" in scripts.SHADOW
    assert scripts.SHADOW.startswith("root:*:")
