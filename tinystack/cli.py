"""The ``tinystack`` command."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from oslo_config import cfg

    from tinystack.common.auth.keys import KeyRepository
    from tinystack.common.db import Database

app = typer.Typer(
    help="A whole OpenStack cloud in one small, fast Python package.",
    no_args_is_help=True,
    add_completion=False,
)
identity_app = typer.Typer(help="Identity maintenance commands.", no_args_is_help=True)
app.add_typer(identity_app, name="identity")
image_app = typer.Typer(help="Guest image commands.", no_args_is_help=True)
app.add_typer(image_app, name="image")
object_store_app = typer.Typer(help="Object storage commands.", no_args_is_help=True)
app.add_typer(object_store_app, name="object-store")
db_app = typer.Typer(help="Database schema: expand and contract.", no_args_is_help=True)
app.add_typer(db_app, name="db")
upgrade_app = typer.Typer(help="Rolling upgrade commands.", no_args_is_help=True)
app.add_typer(upgrade_app, name="upgrade")
ring_app = typer.Typer(help="Ring builder: create, add, rebalance, show.", no_args_is_help=True)
object_store_app.add_typer(ring_app, name="ring")

ConfigFile = Annotated[str | None, typer.Option("--config-file", help="tinystack.conf to read.")]
StateDir = Annotated[
    str | None, typer.Option("--state-dir", help="Where the cloud keeps its state.")
]


def _conf(config_file: str | None, state_dir: str | None) -> cfg.ConfigOpts:
    from tinystack.common.config import make_conf

    if config_file is None and os.environ.get("TINYSTACK_CONFIG"):
        config_file = os.environ["TINYSTACK_CONFIG"]
    conf = make_conf([], config_file)
    if state_dir:
        conf.set_override("state_dir", state_dir)
    return conf


def _log(msg: str) -> None:
    typer.echo(f"[{time.strftime('%H:%M:%S')}] {msg}", err=True)


@app.command()
def up(
    config_file: ConfigFile = None,
    state_dir: StateDir = None,
    services: Annotated[
        str | None, typer.Option(help="Comma-separated services to run (default: all).")
    ] = None,
    debug: Annotated[bool, typer.Option(help="Verbose logging.")] = False,
) -> None:
    """Run every enabled service in one process until Ctrl-C."""
    from tinystack.deploy import registry

    conf = _conf(config_file, state_dir)
    if services:
        conf.set_override("enabled_services", services.split(","))
    elif not conf.enabled_services:
        conf.set_override("enabled_services", registry.available())
    _run(conf, None, debug)


@app.command()
def serve(
    service: Annotated[
        str,
        typer.Argument(
            help="The service to run (identity, placement, ...), or one role of a service "
            "(object-store-proxy, object-store-storage)."
        ),
    ],
    config_file: ConfigFile = None,
    state_dir: StateDir = None,
    debug: Annotated[bool, typer.Option(help="Verbose logging.")] = False,
) -> None:
    """Run one service in this process (the distributed mode).

    Every process of a cloud reads the same tinystack.conf (database URLs, transport_url,
    ports) and the same Fernet keys and secrets.json.
    """
    from tinystack.deploy import registry

    conf = _conf(config_file, state_dir)
    _run(conf, registry.serve(conf, service), debug)


def _run(conf: cfg.ConfigOpts, only: str | None, debug: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if conf.access_log:  # its INFO lines pass the root's WARNING level
        logging.getLogger("tinystack.access").setLevel(logging.INFO)
    from tinystack.deploy.runner import Cloud

    started = time.monotonic()
    cloud = Cloud(conf, progress=_log)
    _log(f"state directory {cloud.state_dir}")
    cloud.prepare(only)
    pidfile = cloud.state_dir / (f"tinystack-{only}.pid" if only else "tinystack.pid")

    def ready() -> None:
        pidfile.write_text(str(os.getpid()))
        _log(f"ready in {time.monotonic() - started:.2f}s")
        for svc in cloud.services:
            typer.echo(f"  {svc.spec.service_type:<14} {svc.url}")
        for svc in cloud.services:
            for x in svc.listeners:
                typer.echo(f"  {x.name:<14} {x.scheme}://{x.host}:{x.port}/{x.path}")
        dashboard = next((s for s in cloud.services if s.spec.name == "dashboard"), None)
        if dashboard:
            typer.echo(f"\n  dashboard: {dashboard.url}")
            horizon = dashboard.runtime.extra.get("horizon")
            if horizon is not None:
                typer.echo(f"  horizon:   {horizon.setup.url} (log: {horizon.log_path})")
        if cloud.logins and sys.stdout.isatty():
            typer.echo("  logins (passwords kept in secrets.json):")
            for user, password in cloud.logins.items():
                typer.echo(f"    {user:<6} {password}   (project {user}, domain Default)")
        elif cloud.logins:  # a log file: passwords stay in secrets.json and clouds.yaml
            typer.echo(f"  logins: {', '.join(cloud.logins)} (passwords in secrets.json)")
        if cloud.clouds_yaml:
            typer.echo(f"\n  clouds.yaml: {cloud.clouds_yaml}")
            typer.echo(f"  export OS_CLIENT_CONFIG_FILE={cloud.clouds_yaml}")
            typer.echo("  openstack --os-cloud tinystack-admin token issue")
        sys.stdout.flush()

    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(cloud.serve(ready))
    finally:
        pidfile.unlink(missing_ok=True)
        _log("stopped")


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return None
    return uvloop.new_event_loop


@app.command()
def status(config_file: ConfigFile = None, state_dir: StateDir = None) -> None:
    """Show whether the cloud is running and which APIs answer."""
    from tinystack.common import config as cfg_mod
    from tinystack.deploy import registry

    conf = _conf(config_file, state_dir)
    sdir = cfg_mod.state_dir(conf)
    pidfile = sdir / "tinystack.pid"
    pid = int(pidfile.read_text()) if pidfile.exists() else None
    alive = pid is not None and Path(f"/proc/{pid}").exists()
    typer.echo(f"state directory: {sdir}")
    typer.echo(f"process: {'running, pid ' + str(pid) if alive else 'not running'}")
    host = cfg_mod.public_host(conf)
    scheme = cfg_mod.api_scheme(conf)
    context = None
    if scheme == "https":
        import ssl

        context = ssl.create_default_context(cafile=cfg_mod.tls_ca_file(conf))
    ok = alive
    for name in conf.enabled_services or registry.available():
        spec = registry.load(name)
        cfg_mod.register_service_opts(conf, spec.name, spec.default_port)
        url = f"{scheme}://{host}:{getattr(conf, spec.name).port}{spec.health_path}"
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as resp:
                code = resp.status
        except urllib.error.HTTPError as exc:
            code = exc.code
        except OSError:
            code = 0
        healthy = code in (200, 300)
        ok = ok and healthy
        typer.echo(f"  {spec.service_type:<14} {url:<32} {'up' if healthy else 'down'}")
    raise typer.Exit(0 if ok else 1)


@app.command()
def doctor() -> None:
    """Report what this host can do: root, QEMU and acceleration, dnsmasq, radvd, namespaces,
    librbd, libvirt."""
    checks = {
        "python": sys.version.split()[0],
        "root": os.geteuid() == 0,
        "qemu-system-x86_64": shutil.which("qemu-system-x86_64") or False,
        "qemu-img": shutil.which("qemu-img") or False,
        "kvm device": os.path.exists("/dev/kvm"),
        "dnsmasq": shutil.which("dnsmasq") or False,
        "radvd (IPv6 router advertisements)": shutil.which("radvd") or False,
        "nft (ARP anti-spoofing)": shutil.which("nft") or False,
        "ip (iproute2)": shutil.which("ip") or False,
        "iptables": shutil.which("iptables") or False,
        "network namespaces": os.path.isdir("/var/run/netns") or os.geteuid() == 0,
        "librbd (rbd image store and volume driver)": _librbd(),
        "libvirt (compute_driver = libvirt)": _libvirt(),
    }
    data_plane = bool(checks["root"] and checks["ip (iproute2)"] and checks["iptables"])
    virt = "tcg" if checks["qemu-system-x86_64"] else "none"
    if checks["kvm device"] and checks["qemu-system-x86_64"]:
        virt = "kvm (probed at start; falls back to tcg)"
    for key, value in checks.items():
        mark = "ok" if value else "--"
        typer.echo(f"  [{mark}] {key}: {value}")
    typer.echo(f"  data plane: {'real' if data_plane else 'emulated'}; virtualisation: {virt}")


def _librbd() -> str | bool:
    from tinystack.common import ceph

    reason = ceph.available()
    if reason is None:
        return str(ceph.bindings().rbd.__file__)
    typer.echo(f"  (librbd: {reason})")
    return False


def _libvirt() -> str | bool:
    from tinystack.compute.virt.libvirt import connection

    try:
        usable, why = connection.usable("qemu:///system")
    except Exception as exc:  # the bindings are missing: say so
        usable, why = False, str(exc)
    if usable:
        return why
    typer.echo(f"  (libvirt: {why})")
    return False


@identity_app.command("rotate-keys")
def rotate_keys(config_file: ConfigFile = None, state_dir: StateDir = None) -> None:
    """Rotate the Fernet keys: stage a new key and promote the staged one."""
    from tinystack.common import config as cfg_mod
    from tinystack.common.auth.keys import KeyRepository

    conf = _conf(config_file, state_dir)
    repo = KeyRepository(cfg_mod.key_repository(conf))
    primary = repo.rotate(conf.token.max_active_keys)
    typer.echo(json.dumps({"primary_key": primary, "repository": str(repo.path)}))


def _credential_keys(
    config_file: str | None, state_dir: str | None
) -> tuple[Database, KeyRepository]:
    """The identity database and credential key repository of a cloud's configuration."""
    from tinystack.common import config as cfg_mod
    from tinystack.common.auth.keys import KeyRepository
    from tinystack.common.db import Database, migrate
    from tinystack.identity import conf as identity_conf
    from tinystack.identity.service import SERVICE

    conf = _conf(config_file, state_dir)
    cfg_mod.register_service_opts(conf, SERVICE.name, SERVICE.default_port)
    SERVICE.register_opts(conf)
    repo = KeyRepository(identity_conf.credential_key_repository(conf))
    db = Database(cfg_mod.database_url(conf, SERVICE.name))
    assert SERVICE.migrations is not None
    migrate(db, SERVICE.migrations, f"alembic_version_{SERVICE.name}")
    return db, repo


@identity_app.command("credential-setup")
def credential_setup(config_file: ConfigFile = None, state_dir: StateDir = None) -> None:
    """Create the credential key repository (keystone-manage credential_setup)."""
    db, repo = _credential_keys(config_file, state_dir)
    created = repo.setup()
    db.dispose()
    typer.echo(json.dumps({"created": created, "repository": str(repo.path)}))


@identity_app.command("credential-rotate")
def credential_rotate(config_file: ConfigFile = None, state_dir: StateDir = None) -> None:
    """Rotate the credential keys; refused while credentials need an older key
    (keystone-manage credential_rotate: run credential-migrate first)."""
    from tinystack.common.exceptions import Conflict
    from tinystack.identity.services import credentials

    db, repo = _credential_keys(config_file, state_dir)
    try:
        primary = credentials.rotate(db, repo)
    except Conflict as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    finally:
        db.dispose()
    typer.echo(json.dumps({"primary_key": primary, "repository": str(repo.path)}))


@identity_app.command("credential-migrate")
def credential_migrate(config_file: ConfigFile = None, state_dir: StateDir = None) -> None:
    """Re-encrypt every credential with the primary key (keystone-manage credential_migrate)."""
    from tinystack.identity.services import credentials

    db, repo = _credential_keys(config_file, state_dir)
    try:
        count = credentials.migrate(db, repo)
    finally:
        db.dispose()
    typer.echo(json.dumps({"migrated": count, "repository": str(repo.path)}))


@db_app.command("expand")
def db_expand(config_file: ConfigFile = None, state_dir: StateDir = None) -> None:
    """Run the expand migrations of every enabled service (online: old code keeps
    running); a service's start runs them too."""
    from tinystack.deploy import upgrade

    typer.echo(json.dumps({"expanded": upgrade.expand(_conf(config_file, state_dir))}))


@db_app.command("contract")
def db_contract(config_file: ConfigFile = None, state_dir: StateDir = None) -> None:
    """Run the contract migrations once every service runs this release; refused (exit 1)
    while a registered service reports an older RPC version."""
    from tinystack.deploy import upgrade

    try:
        done = upgrade.contract(_conf(config_file, state_dir))
    except upgrade.ContractRefused as exc:
        typer.echo(f"contract refused: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps({"contracted": done}))


@upgrade_app.command("check")
def upgrade_check(
    config_file: ConfigFile = None,
    state_dir: StateDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Like nova-status upgrade check: the RPC caps in force, services running older
    versions, migrations pending. Exit 0 when all is current, 1 with a warning."""
    from tinystack.deploy import upgrade

    report = upgrade.check(_conf(config_file, state_dir))
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for item in report.checks:
            typer.echo(f"{item.name}: {item.result}\n  {item.details}")
        typer.echo("Services:")
        for svc in report.services:
            state = "up" if svc.up else "down"
            typer.echo(f"  {svc.binary:16} {svc.host:20} rpc {svc.rpc_version:6} {state}")
        typer.echo("Caps ([upgrade_levels]):")
        for cap in report.caps:
            shown = cap.cap or "none"
            typer.echo(
                f"  {cap.topic:12} {cap.configured or '-':8} -> {shown} (newest {cap.newest})"
            )
    raise typer.Exit(report.code)


@image_app.command("build-test")
def image_build_test(
    output: Annotated[
        str | None,
        typer.Option(help="Directory for tinystack-test.qcow2 (default: the image bootstrap dir)."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Rebuild even if up to date.")] = False,
    install: Annotated[
        bool, typer.Option(help="apt-get install missing Debian packages (as root).")
    ] = True,
    config_file: ConfigFile = None,
    state_dir: StateDir = None,
) -> None:
    """Build the CirrOS-like test guest image from Debian packages."""
    from tinystack.guest import build, hostdeps

    if output is None:
        from tinystack.image import conf as image_conf

        conf = _conf(config_file, state_dir)
        image_conf.register_opts(conf)
        output = str(image_conf.bootstrap_image_dir(conf))
    try:
        hostdeps.ensure_packages(hostdeps.BUILD_PACKAGES, install=install, log=_log)
        result = build.build_test_image(Path(output).expanduser(), force=force, log=_log)
    except (RuntimeError, OSError) as exc:  # MissingHostPackages, BuildError, KernelError
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(json.dumps({"image": str(result.image), "built": result.built}))


def main() -> None:
    app()


if __name__ == "__main__":
    main()


# -- object-store ring --------------------------------------------------------------------
RingName = Annotated[str, typer.Argument(help="account, container or object")]
RingDir = Annotated[
    str | None, typer.Option("--ring-dir", help="Ring directory (default: the cloud's).")
]


def _ring_cmd(
    run: Callable[[Path], str], config_file: str | None, state_dir: str | None, ring_dir: str | None
) -> None:
    from tinystack.object_store.exception import RingError

    if ring_dir is None:
        from tinystack.common import config as cfg_mod
        from tinystack.object_store import conf as os_conf

        conf = _conf(config_file, state_dir)
        os_conf.register_opts(conf)
        ring_dir = str(os_conf.Options.from_conf(conf, cfg_mod.state_dir(conf)).ring_dir)
    try:
        typer.echo(run(Path(ring_dir)))
    except RingError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


@ring_app.command("create")
def ring_create(
    ring: RingName,
    part_power: Annotated[int, typer.Argument()],
    replicas: Annotated[int, typer.Argument()],
    min_part_hours: Annotated[int, typer.Argument()],
    config_file: ConfigFile = None,
    state_dir: StateDir = None,
    ring_dir: RingDir = None,
) -> None:
    """Create a ring builder (like swift-ring-builder <ring>.builder create)."""
    from tinystack.object_store.ring import commands

    def run(d: Path) -> str:
        return commands.create(d, ring, part_power, replicas, min_part_hours)

    _ring_cmd(run, config_file, state_dir, ring_dir)


@ring_app.command("add")
def ring_add(
    ring: RingName,
    ip: Annotated[str, typer.Option()],
    port: Annotated[int, typer.Option()],
    device: Annotated[str, typer.Option()],
    weight: Annotated[float, typer.Option()],
    region: Annotated[int, typer.Option()] = 1,
    zone: Annotated[int, typer.Option()] = 1,
    config_file: ConfigFile = None,
    state_dir: StateDir = None,
    ring_dir: RingDir = None,
) -> None:
    """Add a device to a ring builder (takes effect at the next rebalance)."""
    from tinystack.object_store.ring import commands

    def run(d: Path) -> str:
        return commands.add(
            d, ring, region=region, zone=zone, ip=ip, port=port, device=device, weight=weight
        )

    _ring_cmd(run, config_file, state_dir, ring_dir)


@ring_app.command("rebalance")
def ring_rebalance(
    ring: RingName,
    config_file: ConfigFile = None,
    state_dir: StateDir = None,
    ring_dir: RingDir = None,
) -> None:
    """Reassign partitions and write the ring file every node reloads."""
    from tinystack.object_store.ring import commands

    _ring_cmd(lambda d: commands.rebalance(d, ring), config_file, state_dir, ring_dir)


@ring_app.command("show")
def ring_show(
    ring: RingName,
    config_file: ConfigFile = None,
    state_dir: StateDir = None,
    ring_dir: RingDir = None,
) -> None:
    """Show a ring builder's devices, balance and dispersion."""
    from tinystack.object_store.ring import commands

    _ring_cmd(lambda d: commands.show(d, ring), config_file, state_dir, ring_dir)
