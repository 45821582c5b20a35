"""First-start state of a cloud, created idempotently (like ``keystone-manage bootstrap``).

Default domain; roles admin ⇒ member ⇒ reader plus service (and ``ResellerAdmin`` when
object storage is in the catalog); the admin project
and user (admin on the project and on the system); a service project with one
user per service (admin and service roles); a demo project and user (member);
the region and a catalog entry for every running service.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.cloud import BootstrapInfo
from tinystack.common.timeutils import new_hex_id, utcnow
from tinystack.identity import models
from tinystack.identity.services import catalog, passwords
from tinystack.identity.services.deps import Deps
from tinystack.identity.services.grants import SYSTEM

ROLES = ("admin", "manager", "member", "reader", "service")
#: upstream's default role hierarchy (keystone-manage bootstrap): admin => manager =>
#: member => reader (a cloud bootstrapped before keeps its admin => member as well)
IMPLIES = (("admin", "manager"), ("manager", "member"), ("member", "reader"))
#: roles a service in the catalog checks by name: object storage's keystoneauth
#: ``reseller_admin_role`` (may use every account), as devstack's Swift creates it
SERVICE_ROLES = {"object-store": ("ResellerAdmin",)}


def _role(session: Session, name: str) -> models.Role:
    role = session.scalars(
        select(models.Role).where(models.Role.name == name, models.Role.domain_id.is_(None))
    ).first()
    if role is None:
        role = models.Role(id=new_hex_id(), name=name, options={}, extra={})
        session.add(role)
        session.flush()
    return role


def _project(session: Session, name: str, description: str) -> models.Project:
    project = session.scalars(
        select(models.Project).where(
            models.Project.name == name, models.Project.domain_id == "default"
        )
    ).first()
    if project is None:
        project = models.Project(
            id=new_hex_id(),
            name=name,
            domain_id="default",
            description=description,
            enabled=True,
            extra={},
        )
        session.add(project)
        session.flush()
    return project


def _grant(session: Session, kind: str, actor_id: str, target_id: str, role: models.Role) -> None:
    key = (kind, actor_id, target_id, role.id, False)
    if session.get(models.Assignment, key) is None:
        session.add(
            models.Assignment(
                type=kind, actor_id=actor_id, target_id=target_id, role_id=role.id, inherited=False
            )
        )


def _missing_users(deps: Deps, names: list[str]) -> list[str]:
    with deps.db.reader() as session:
        existing = set(
            session.scalars(
                select(models.User.name).where(
                    models.User.domain_id == "default", models.User.name.in_(names)
                )
            )
        )
    return [n for n in names if n not in existing]


def bootstrap(deps: Deps, info: BootstrapInfo) -> bool:
    """Create what is missing; return True when this was a first start."""
    wanted: dict[str, str] = {"admin": info.admin_password, "demo": info.demo_password}
    for creds in info.service_users.values():
        wanted[creds.username] = creds.password
    missing = _missing_users(deps, list(wanted))
    rounds = deps.opts.password_hash_rounds
    with ThreadPoolExecutor(max_workers=2) as pool:
        hashes = dict(
            zip(
                missing,
                pool.map(lambda n: passwords.hash_password(wanted[n], rounds), missing),
                strict=True,
            )
        )

    def tx(session: Session) -> bool:
        first = session.get(models.Domain, "default") is None
        if first:
            session.add(
                models.Domain(
                    id="default",
                    name="Default",
                    enabled=True,
                    extra={},
                    description="The default domain",
                    tags=[],
                )
            )
            session.flush()
        role = {name: _role(session, name) for name in ROLES}
        for entry in info.catalog:
            for name in SERVICE_ROLES.get(entry.service_type, ()):
                _role(session, name)
        for prior, implied in IMPLIES:
            key = (role[prior].id, role[implied].id)
            if session.get(models.ImpliedRole, key) is None:
                session.add(models.ImpliedRole(prior_role_id=key[0], implied_role_id=key[1]))
        projects = {
            "admin": _project(session, "admin", "Bootstrap project for initializing the cloud."),
            "service": _project(session, "service", "Project of the service users."),
            "demo": _project(session, "demo", "Demo project for a regular user."),
        }
        users: dict[str, models.User] = {}
        for name in wanted:
            user = session.scalars(
                select(models.User).where(
                    models.User.name == name, models.User.domain_id == "default"
                )
            ).first()
            if user is None:
                user = models.User(
                    id=new_hex_id(),
                    name=name,
                    domain_id="default",
                    enabled=True,
                    password_hash=hashes[name],
                    password_created_at=utcnow(),
                    options={},
                    extra={},
                    created_at=utcnow(),
                    default_project_id=projects["demo"].id if name == "demo" else None,
                )
                session.add(user)
                session.flush()
            users[name] = user
        _grant(session, "UserProject", users["admin"].id, projects["admin"].id, role["admin"])
        _grant(session, "UserSystem", users["admin"].id, SYSTEM, role["admin"])
        _grant(session, "UserProject", users["demo"].id, projects["demo"].id, role["member"])
        for creds in info.service_users.values():
            user = users[creds.username]
            for name in ("admin", "service"):
                _grant(session, "UserProject", user.id, projects["service"].id, role[name])
        return first

    first = deps.db.write(tx)
    catalog.reconcile(deps, info.region, info.catalog)
    deps.clear_caches()
    return first
