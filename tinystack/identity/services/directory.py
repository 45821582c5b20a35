"""Users and groups of a domain whose configuration says ``identity.driver = ldap``.

The directory (``backends/ldap.py``) is the source of truth and is read-only. Each entry
gets Keystone's public id (``id_mapping``: sha256 of the domain id, the entity type and
the entry's id attribute, upstream's default generator) and a shadow row in identity's
``user``/``group`` tables, refreshed whenever the entry is read, so that role
assignments (stored in SQL), tokens and the rest of identity see directory users like
any other. A directory user's group memberships are re-read from the directory when it
authenticates (they decide its roles) and whenever its groups or a group's members are
listed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.exceptions import Forbidden, NotFound
from tinystack.common.timeutils import utcnow
from tinystack.identity import models
from tinystack.identity.backends.ldap import (
    Directory,
    DirectoryGroup,
    DirectoryUser,
    LdapOptions,
)
from tinystack.identity.exception import AuthFailed
from tinystack.identity.services import convert, domain_configs
from tinystack.identity.services.deps import Deps
from tinystack.identity.services.records import Group, User

READ_ONLY = "LDAP does not support write operations"
USER = "user"
GROUP = "group"


def public_id(domain_id: str, local_id: str, entity_type: str) -> str:
    """Keystone's sha256 id generator: the mapping's values in the order of its keys."""
    digest = hashlib.sha256()
    for value in (domain_id, entity_type, local_id):  # domain_id < entity_type < local_id
        digest.update(value.encode())
    return digest.hexdigest()


def for_domain(deps: Deps, domain_id: str | None) -> Directory | None:
    """The directory of a domain configured with the LDAP driver; None for SQL domains."""
    if not domain_id:
        return None
    cached = deps.directories.get(domain_id)
    if cached is not None:
        return cached[0]
    with deps.db.reader() as session:
        config = domain_configs.effective(session, domain_id)
    directory = None
    if config.get("identity", {}).get("driver") == "ldap":
        options = {**domain_configs.WHITELISTED["ldap"], **config.get("ldap", {})}
        directory = Directory(LdapOptions.from_config(options))
    deps.directories.put(domain_id, (directory,))
    return directory


def refuse_writes(deps: Deps, domain_id: str | None) -> None:
    """403 for a create, update or delete of a user or group in a directory domain."""
    if for_domain(deps, domain_id) is not None:
        raise Forbidden(READ_ONLY)


def _mapped(deps: Deps, public: str) -> models.IdMapping | None:
    with deps.db.reader() as session:
        row = session.get(models.IdMapping, public)
        if row is not None:
            session.expunge(row)
        return row


def refuse_if_mapped(deps: Deps, public: str) -> None:
    if _mapped(deps, public) is not None:
        raise Forbidden(READ_ONLY)


# -- shadow rows ------------------------------------------------------------------------------


def _map(session: Session, domain_id: str, local_id: str, entity_type: str) -> str:
    public = public_id(domain_id, local_id, entity_type)
    if session.get(models.IdMapping, public) is None:
        session.add(
            models.IdMapping(
                public_id=public, domain_id=domain_id, local_id=local_id, entity_type=entity_type
            )
        )
    return public


def _free_name(
    session: Session,
    model: type[models.User] | type[models.Group],
    row_id: str,
    domain_id: str,
    name: str,
) -> None:
    """A renamed entry's old shadow may hold the name: give that stale row its id as name."""
    query = select(model).where(
        model.domain_id == domain_id, model.name == name, model.id != row_id
    )
    for stale in session.scalars(query):
        assert isinstance(stale, models.User | models.Group)
        stale.name = stale.id
    session.flush()


def _shadow_user(session: Session, domain_id: str, entry: DirectoryUser) -> models.User:
    public = _map(session, domain_id, entry.local_id, USER)
    row = session.get(models.User, public)
    extra = {k: v for k, v in (("email", entry.email),) if v is not None}
    if row is None:
        _free_name(session, models.User, public, domain_id, entry.name)
        row = models.User(
            id=public,
            name=entry.name,
            domain_id=domain_id,
            enabled=entry.enabled,
            options={},
            extra=extra,
            description=entry.description,
            created_at=utcnow(),
        )
        session.add(row)
    else:
        if row.name != entry.name:
            _free_name(session, models.User, public, domain_id, entry.name)
            row.name = entry.name
        row.enabled = entry.enabled
        row.description = entry.description
        if row.extra != extra:
            row.extra = extra
    return row


def _shadow_group(session: Session, domain_id: str, entry: DirectoryGroup) -> models.Group:
    public = _map(session, domain_id, entry.local_id, GROUP)
    row = session.get(models.Group, public)
    if row is None:
        _free_name(session, models.Group, public, domain_id, entry.name)
        row = models.Group(
            id=public,
            name=entry.name,
            domain_id=domain_id,
            description=entry.description,
            extra={},
        )
        session.add(row)
    else:
        if row.name != entry.name:
            _free_name(session, models.Group, public, domain_id, entry.name)
            row.name = entry.name
        row.description = entry.description
    return row


def _set_memberships(session: Session, user_id: str, group_ids: Sequence[str]) -> None:
    current = set(
        session.scalars(
            select(models.UserGroupMembership.group_id).where(
                models.UserGroupMembership.user_id == user_id
            )
        )
    )
    wanted = set(group_ids)
    if current - wanted:
        session.execute(
            sa.delete(models.UserGroupMembership).where(
                models.UserGroupMembership.user_id == user_id,
                models.UserGroupMembership.group_id.in_(current - wanted),
            )
        )
    for group_id in wanted - current:
        session.add(models.UserGroupMembership(user_id=user_id, group_id=group_id))


def _users(deps: Deps, domain_id: str, entries: Sequence[DirectoryUser]) -> list[User]:
    def tx(session: Session) -> list[User]:
        rows = [_shadow_user(session, domain_id, e) for e in entries]
        session.flush()
        return [convert.user(r) for r in rows]

    return deps.db.write(tx) if entries else []


def _groups(deps: Deps, domain_id: str, entries: Sequence[DirectoryGroup]) -> list[Group]:
    def tx(session: Session) -> list[Group]:
        rows = [_shadow_group(session, domain_id, e) for e in entries]
        session.flush()
        return [convert.group(r) for r in rows]

    return deps.db.write(tx) if entries else []


# -- reads ------------------------------------------------------------------------------------


def list_users(
    deps: Deps, directory: Directory, domain_id: str, name: str | None, enabled: bool | None
) -> list[User]:
    found = _users(deps, domain_id, directory.list_users(name))
    return [u for u in found if enabled is None or u.enabled == enabled]


def list_groups(deps: Deps, directory: Directory, domain_id: str, name: str | None) -> list[Group]:
    return _groups(deps, domain_id, directory.list_groups(name))


def _entry_user(deps: Deps, row: models.IdMapping) -> tuple[Directory, DirectoryUser]:
    directory = for_domain(deps, row.domain_id)
    entry = directory.get_user(row.local_id) if directory is not None else None
    if directory is None or entry is None:
        raise NotFound(f"Could not find user: {row.public_id}.")
    return directory, entry


def _entry_group(deps: Deps, row: models.IdMapping) -> tuple[Directory, DirectoryGroup]:
    directory = for_domain(deps, row.domain_id)
    entry = directory.get_group(row.local_id) if directory is not None else None
    if directory is None or entry is None:
        raise NotFound(f"Could not find group: {row.public_id}.")
    return directory, entry


def refresh(deps: Deps, public: str) -> None:
    """Re-read a directory user or group into its shadow row (404 when it left the
    directory); nothing for identity's own users and groups."""
    row = _mapped(deps, public)
    if row is None:
        return
    if row.entity_type == USER:
        _users(deps, row.domain_id, [_entry_user(deps, row)[1]])
    else:
        _groups(deps, row.domain_id, [_entry_group(deps, row)[1]])


def sync_user_groups(deps: Deps, user_id: str) -> list[Group] | None:
    """A directory user's groups, read from the directory into identity's membership
    rows (what its tokens' roles come from); None for identity's own users."""
    row = _mapped(deps, user_id)
    if row is None or row.entity_type != USER:
        return None
    directory, entry = _entry_user(deps, row)
    entries = directory.groups_for_user(entry)
    domain_id = row.domain_id

    def tx(session: Session) -> list[Group]:
        _shadow_user(session, domain_id, entry)
        groups = [_shadow_group(session, domain_id, g) for g in entries]
        session.flush()
        _set_memberships(session, user_id, [g.id for g in groups])
        return [convert.group(g) for g in groups]

    return deps.db.write(tx)


def group_members(deps: Deps, group_id: str) -> list[User] | None:
    """A directory group's members, from the directory; None for identity's own groups."""
    row = _mapped(deps, group_id)
    if row is None or row.entity_type != GROUP:
        return None
    directory, entry = _entry_group(deps, row)
    members = directory.members(entry)
    domain_id = row.domain_id

    def tx(session: Session) -> list[User]:
        _shadow_group(session, domain_id, entry)
        users = [_shadow_user(session, domain_id, u) for u in members]
        session.flush()
        current = set(
            session.scalars(
                select(models.UserGroupMembership.user_id).where(
                    models.UserGroupMembership.group_id == group_id
                )
            )
        )
        wanted = {u.id for u in users}
        for gone in current - wanted:
            row = session.get(models.UserGroupMembership, (gone, group_id))
            if row is not None:
                session.delete(row)
        for new in wanted - current:
            session.add(models.UserGroupMembership(user_id=new, group_id=group_id))
        return [convert.user(u) for u in users]

    return deps.db.write(tx)


def is_member(deps: Deps, group_id: str, user_id: str) -> bool | None:
    """Whether a directory user is in a directory group; None when either is not one."""
    group_row, user_row = _mapped(deps, group_id), _mapped(deps, user_id)
    if group_row is None or group_row.entity_type != GROUP:
        return None
    directory, group = _entry_group(deps, group_row)
    if user_row is None or user_row.domain_id != group_row.domain_id:
        return False
    _dir, user = _entry_user(deps, user_row)
    return directory.is_member(group, user)


# -- authentication ---------------------------------------------------------------------------


def authenticate(
    deps: Deps, domain_id: str, user_id: str | None, name: str | None, password: str
) -> User | None:
    """Check a directory user's password by binding as it; its shadow row (groups synced).

    None when the user is not found in the directory or the password does not bind.
    """
    directory = for_domain(deps, domain_id)
    if directory is None:
        return None
    entry: DirectoryUser | None = None
    if user_id is not None:
        row = _mapped(deps, user_id)
        if row is None or row.entity_type != USER:
            return None
        entry = directory.get_user(row.local_id)
    elif name is not None:
        entry = directory.user_by_name(name)
    if entry is None or not directory.authenticate(entry, password):
        return None
    user = _users(deps, domain_id, [entry])[0]
    sync_user_groups(deps, user.id)
    return user


def user_domain(deps: Deps, user_id: str) -> str | None:
    """The domain of a directory user's public id (None: not a directory user)."""
    row = _mapped(deps, user_id)
    return row.domain_id if row is not None and row.entity_type == USER else None


def _domain_of_ref(deps: Deps, ref: object) -> str | None:
    if not isinstance(ref, dict):
        return None
    with deps.db.reader() as session:
        if isinstance(ref.get("id"), str):
            row = session.get(models.Domain, ref["id"])
        elif isinstance(ref.get("name"), str):
            row = session.scalars(
                select(models.Domain).where(models.Domain.name == ref["name"])
            ).first()
        else:
            return None
        return row.id if row is not None else None


def password_user(deps: Deps, data: object) -> str | None:
    """The ``password`` method for a directory user: its id once the directory accepted
    the password; None when the user named is not a directory user (identity checks it).

    Raises :class:`AuthFailed` for a directory user whose password does not bind.
    """
    if not isinstance(data, dict) or not isinstance(data.get("user"), dict):
        return None
    ref = data["user"]
    password = ref.get("password")
    if isinstance(ref.get("id"), str):
        domain_id = user_domain(deps, ref["id"])
        user_id, name = ref["id"], None
    elif isinstance(ref.get("name"), str):
        domain_id = _domain_of_ref(deps, ref.get("domain"))
        user_id, name = None, ref["name"]
    else:
        return None
    if domain_id is None or for_domain(deps, domain_id) is None:
        return None
    if not isinstance(password, str):
        return None
    user = authenticate(deps, domain_id, user_id, name, password)
    if user is None:
        raise AuthFailed()
    return user.id
