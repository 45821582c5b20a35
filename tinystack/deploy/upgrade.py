"""Rolling upgrades of a cloud: schema expand and contract, and the upgrade check.

The order (the design's rolling upgrade, as upstream's): ``tinystack db expand`` (online,
the old release keeps running), then restart the control plane on the new release with
``[upgrade_levels]`` caps (``auto`` follows the oldest service), then the compute hosts one
at a time; once ``tinystack upgrade check`` shows no older service, ``tinystack db
contract`` and drop the caps. ``contract`` refuses while a registered service reports an
older RPC version than this code's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

from oslo_config import cfg

from tinystack.common import config, migration
from tinystack.common.db import Database
from tinystack.common.rpc.versions import CapReport, RunningVersion
from tinystack.common.service import ServiceSpec
from tinystack.deploy import registry


class ContractRefused(Exception):
    """Older services still run: contracting would remove what they use."""


@contextmanager
def _databases(conf: cfg.ConfigOpts) -> Iterator[list[tuple[ServiceSpec, Database]]]:
    """The enabled services that have a database, each with it open."""
    names = list(conf.enabled_services or registry.available())
    found = []
    for name in names:
        spec = registry.load(name)
        config.register_service_opts(conf, spec.name, spec.default_port)
        spec.register_opts(conf)
        if spec.migrations:
            found.append((spec, Database(config.database_url(conf, spec.name))))
    try:
        yield found
    finally:
        for _, db in found:
            db.dispose()


def _table(spec: ServiceSpec) -> str:
    return f"alembic_version_{spec.name}"


def expand(conf: cfg.ConfigOpts) -> dict[str, list[str]]:
    """Run every service's expand revisions (safe with old code running)."""
    done: dict[str, list[str]] = {}
    with _databases(conf) as services:
        for spec, db in services:
            assert spec.migrations is not None
            todo = migration.pending(db, spec.migrations, _table(spec), "expand")
            migration.upgrade(db, spec.migrations, _table(spec), "expand")
            done[spec.name] = todo
    return done


def contract(conf: cfg.ConfigOpts) -> dict[str, list[str]]:
    """Run the contract revisions, unless a registered service runs older code."""
    done: dict[str, list[str]] = {}
    with _databases(conf) as services:
        older = [
            v
            for spec, db in services
            if migration.initialised(db, _table(spec))
            for v in spec.running_versions(conf, db)
            if v.older
        ]
        if older:
            names = ", ".join(f"{v.binary} on {v.host} ({v.rpc_version})" for v in older)
            raise ContractRefused(
                f"older services still registered: {names}; upgrade or delete them first"
            )
        for spec, db in services:
            assert spec.migrations is not None
            todo = migration.pending(db, spec.migrations, _table(spec), "contract")
            migration.upgrade(db, spec.migrations, _table(spec), "contract")
            done[spec.name] = todo
    return done


@dataclass(frozen=True, slots=True)
class Check:
    """One check of ``tinystack upgrade check`` (as nova-status: Success/Warning)."""

    name: str
    result: str
    details: str


@dataclass(frozen=True, slots=True)
class Report:
    checks: list[Check]
    caps: list[CapReport]
    services: list[RunningVersion]
    pending_contract: dict[str, list[str]]
    pending_expand: dict[str, list[str]]

    @property
    def code(self) -> int:
        """nova-status's exit code: 0 all good, 1 a warning."""
        return 1 if any(c.result != "Success" for c in self.checks) else 0

    def to_dict(self) -> dict[str, object]:
        return {
            "checks": [asdict(c) for c in self.checks],
            "caps": [asdict(c) for c in self.caps],
            "services": [{**asdict(s), "older": s.older} for s in self.services],
            "pending_contract": self.pending_contract,
            "pending_expand": self.pending_expand,
        }


def check(conf: cfg.ConfigOpts) -> Report:
    """Caps in force, services running older versions, migrations not yet run."""
    caps: list[CapReport] = []
    running: list[RunningVersion] = []
    contracts: dict[str, list[str]] = {}
    expands: dict[str, list[str]] = {}
    with _databases(conf) as services:
        for spec, db in services:
            assert spec.migrations is not None
            if migration.initialised(db, _table(spec)):  # else: everything is pending
                caps += spec.version_caps(conf, db)
                running += spec.running_versions(conf, db)
            contract_todo = migration.pending(db, spec.migrations, _table(spec), "contract")
            expand_todo = migration.pending(db, spec.migrations, _table(spec), "expand")
            if contract_todo:
                contracts[spec.name] = contract_todo
            if expand_todo:
                expands[spec.name] = expand_todo
    return Report(_checks(caps, running, contracts, expands), caps, running, contracts, expands)


def _checks(
    caps: list[CapReport],
    running: list[RunningVersion],
    contracts: dict[str, list[str]],
    expands: dict[str, list[str]],
) -> list[Check]:
    older = [s for s in running if s.older]
    pinned = [c for c in caps if c.cap is not None and c.cap != c.newest]
    return [
        Check(
            "Database expand",
            "Warning" if expands else "Success",
            "; ".join(f"{n}: {', '.join(r)}" for n, r in expands.items())
            or "every expand migration has run",
        ),
        Check(
            "Service versions",
            "Warning" if older else "Success",
            "; ".join(f"{s.binary} on {s.host} runs {s.rpc_version} < {s.current}" for s in older)
            or "every service runs this release's RPC versions",
        ),
        Check(
            "RPC version caps",
            "Warning" if pinned else "Success",
            "; ".join(f"{c.topic} pinned to {c.cap} ({c.configured})" for c in pinned)
            or "no topic is capped below its newest version",
        ),
        Check(
            "Database contract",
            "Warning" if contracts else "Success",
            "; ".join(f"{n}: {', '.join(r)}" for n, r in contracts.items())
            + (" (blocked until the older services are upgraded)" if older and contracts else "")
            or "nothing left to contract",
        ),
    ]
