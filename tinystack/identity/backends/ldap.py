"""A read-only LDAP identity backend (``ldap3``) with Keystone's ``[ldap]`` option names.

Users are entries of ``user_objectclass`` under ``user_tree_dn`` (matching ``user_filter``);
their id, name, mail, description and enabled state come from the ``user_*_attribute``
options. Groups are entries of ``group_objectclass`` under ``group_tree_dn``; members are
listed in ``group_member_attribute`` as DNs, or as user ids with
``group_members_are_ids``. A password is checked by binding as the user's DN.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import ldap3
from ldap3.core import exceptions as ldap_errors
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import parse_dn

from tinystack.common.exceptions import ServiceUnavailable

SCOPES = {"one": ldap3.LEVEL, "sub": ldap3.SUBTREE, "base": ldap3.BASE}
DEREF = {
    "never": ldap3.DEREF_NEVER,
    "searching": ldap3.DEREF_SEARCH,
    "finding": ldap3.DEREF_BASE,
    "always": ldap3.DEREF_ALWAYS,
    "default": ldap3.DEREF_ALWAYS,
}
TLS_REQ = {"demand": ssl.CERT_REQUIRED, "allow": ssl.CERT_OPTIONAL, "never": ssl.CERT_NONE}
TRUE = ("true", "1", "yes", "on")
TIMEOUT = 10


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in TRUE


def _opt_str(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


@dataclass(frozen=True, slots=True)
class LdapOptions:
    """A domain's ``[ldap]`` options (what ``services/domain_configs`` stores)."""

    url: str
    user: str | None
    password: str | None
    suffix: str
    query_scope: str
    page_size: int
    alias_dereferencing: str
    user_tree_dn: str
    user_filter: str | None
    user_objectclass: str
    user_id_attribute: str
    user_name_attribute: str
    user_mail_attribute: str
    user_description_attribute: str
    user_enabled_attribute: str
    user_enabled_invert: bool
    user_enabled_mask: int
    user_enabled_default: str
    user_enabled_emulation: bool
    user_enabled_emulation_dn: str
    #: the emulation group's members in group_member_attribute (else ``member``, DNs)
    user_enabled_emulation_use_group_config: bool
    group_tree_dn: str
    group_filter: str | None
    group_objectclass: str
    group_id_attribute: str
    group_name_attribute: str
    group_member_attribute: str
    group_members_are_ids: bool
    group_desc_attribute: str
    use_tls: bool
    tls_cacertfile: str | None
    tls_req_cert: str

    @classmethod
    def from_config(cls, values: Mapping[str, Any]) -> LdapOptions:
        """Options from a merged mapping (defaults overridden by the domain's values)."""
        suffix = str(values.get("suffix") or "cn=example,cn=com")
        user_tree = _opt_str(values.get("user_tree_dn")) or f"ou=Users,{suffix}"
        return cls(
            url=str(values.get("url") or "ldap://localhost"),
            user=_opt_str(values.get("user")),
            password=_opt_str(values.get("password")),
            suffix=suffix,
            query_scope=str(values.get("query_scope") or "one"),
            page_size=int(values.get("page_size") or 0),
            alias_dereferencing=str(values.get("alias_dereferencing") or "default"),
            user_tree_dn=user_tree,
            user_filter=_opt_str(values.get("user_filter")),
            user_objectclass=str(values.get("user_objectclass") or "inetOrgPerson"),
            user_id_attribute=str(values.get("user_id_attribute") or "cn"),
            user_name_attribute=str(values.get("user_name_attribute") or "sn"),
            user_mail_attribute=str(values.get("user_mail_attribute") or "mail"),
            user_description_attribute=str(
                values.get("user_description_attribute") or "description"
            ),
            user_enabled_attribute=str(values.get("user_enabled_attribute") or "enabled"),
            user_enabled_invert=_bool(values.get("user_enabled_invert", False)),
            user_enabled_mask=int(values.get("user_enabled_mask") or 0),
            user_enabled_default=str(values.get("user_enabled_default", "True")),
            user_enabled_emulation=_bool(values.get("user_enabled_emulation", False)),
            user_enabled_emulation_dn=_opt_str(values.get("user_enabled_emulation_dn"))
            or f"cn=enabled_users,{user_tree}",
            user_enabled_emulation_use_group_config=_bool(
                values.get("user_enabled_emulation_use_group_config", False)
            ),
            group_tree_dn=_opt_str(values.get("group_tree_dn")) or f"ou=UserGroups,{suffix}",
            group_filter=_opt_str(values.get("group_filter")),
            group_objectclass=str(values.get("group_objectclass") or "groupOfNames"),
            group_id_attribute=str(values.get("group_id_attribute") or "cn"),
            group_name_attribute=str(values.get("group_name_attribute") or "ou"),
            group_member_attribute=str(values.get("group_member_attribute") or "member"),
            group_members_are_ids=_bool(values.get("group_members_are_ids", False)),
            group_desc_attribute=str(values.get("group_desc_attribute") or "description"),
            use_tls=_bool(values.get("use_tls", False)),
            tls_cacertfile=_opt_str(values.get("tls_cacertfile")),
            tls_req_cert=str(values.get("tls_req_cert") or "demand"),
        )


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    dn: str
    local_id: str
    name: str
    enabled: bool
    email: str | None
    description: str | None


@dataclass(frozen=True, slots=True)
class DirectoryGroup:
    dn: str
    local_id: str
    name: str
    description: str | None
    #: member DNs (or user ids with group_members_are_ids)
    members: tuple[str, ...]


def _first(entry: Mapping[str, Any], attribute: str) -> str | None:
    for key, value in entry.items():
        if key.lower() == attribute.lower():
            if isinstance(value, list):
                return str(value[0]) if value else None
            return None if value is None else str(value)
    return None


def _all(entry: Mapping[str, Any], attribute: str) -> list[str]:
    for key, value in entry.items():
        if key.lower() == attribute.lower():
            values = value if isinstance(value, list) else [value]
            return [str(v) for v in values if v is not None]
    return []


def _same_dn(a: str, b: str) -> bool:
    try:
        return [(k.lower(), v.lower()) for k, v, _ in parse_dn(a)] == [
            (k.lower(), v.lower()) for k, v, _ in parse_dn(b)
        ]
    except ldap_errors.LDAPInvalidDnError:
        return a.lower() == b.lower()


class Directory:
    """One domain's directory; every call opens (and closes) its own connection."""

    def __init__(self, options: LdapOptions) -> None:
        self.opts = options

    # -- connections ------------------------------------------------------------------------

    def _server(self) -> ldap3.Server:
        tls = None
        if self.opts.use_tls or self.opts.url.startswith("ldaps://"):
            tls = ldap3.Tls(
                validate=TLS_REQ.get(self.opts.tls_req_cert, ssl.CERT_REQUIRED),
                ca_certs_file=self.opts.tls_cacertfile,
            )
        return ldap3.Server(self.opts.url, connect_timeout=TIMEOUT, tls=tls)

    def _bind(self, user: str | None, password: str | None) -> ldap3.Connection:
        conn = ldap3.Connection(
            self._server(),
            user=user,
            password=password,
            receive_timeout=TIMEOUT,
            raise_exceptions=True,
            auto_referrals=False,
        )
        conn.open()
        if self.opts.use_tls and not self.opts.url.startswith("ldaps://"):
            conn.start_tls()
        conn.bind()
        return conn

    def _connect(self) -> ldap3.Connection:
        try:
            return self._bind(self.opts.user, self.opts.password)
        except ldap_errors.LDAPException as exc:
            raise ServiceUnavailable(f"The LDAP server is not available: {exc}") from exc

    def _search(
        self, base: str, query: str, attributes: list[str], scope: int | None = None
    ) -> list[tuple[str, dict[str, Any]]]:
        conn = self._connect()
        try:
            return list(self._entries(conn, base, query, attributes, scope))
        except ldap_errors.LDAPNoSuchObjectResult:
            return []
        except ldap_errors.LDAPException as exc:
            raise ServiceUnavailable(f"The LDAP search failed: {exc}") from exc
        finally:
            conn.unbind()

    def _entries(
        self,
        conn: ldap3.Connection,
        base: str,
        query: str,
        attributes: list[str],
        scope: int | None,
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        search_scope = scope if scope is not None else SCOPES.get(self.opts.query_scope, 1)
        deref = DEREF.get(self.opts.alias_dereferencing, ldap3.DEREF_ALWAYS)
        if self.opts.page_size > 0:
            found = conn.extend.standard.paged_search(
                base,
                query,
                search_scope=search_scope,
                dereference_aliases=deref,
                attributes=attributes,
                paged_size=self.opts.page_size,
                generator=False,
            )
            for item in found:
                if item.get("type") == "searchResEntry":
                    yield str(item["dn"]), dict(item["attributes"])
            return
        conn.search(
            base, query, search_scope=search_scope, dereference_aliases=deref, attributes=attributes
        )
        for entry in conn.response or []:
            if entry.get("type") == "searchResEntry":
                yield str(entry["dn"]), dict(entry["attributes"])

    # -- users ------------------------------------------------------------------------------

    def _user_attributes(self) -> list[str]:
        o = self.opts
        names = [
            o.user_id_attribute,
            o.user_name_attribute,
            o.user_mail_attribute,
            o.user_description_attribute,
        ]
        if not o.user_enabled_emulation:
            names.append(o.user_enabled_attribute)
        return names

    def _user_query(self, attribute: str | None = None, value: str | None = None) -> str:
        parts = [f"(objectClass={self.opts.user_objectclass})"]
        if self.opts.user_filter:
            user_filter = self.opts.user_filter
            parts.append(user_filter if user_filter.startswith("(") else f"({user_filter})")
        if attribute is not None and value is not None:
            parts.append(f"({attribute}={escape_filter_chars(value)})")
        return "(&" + "".join(parts) + ")"

    def _enabled(self, dn: str, attrs: Mapping[str, Any], emulated: set[str] | None) -> bool:
        o = self.opts
        if o.user_enabled_emulation:
            if o.user_enabled_emulation_use_group_config and o.group_members_are_ids:
                return _first(attrs, o.user_id_attribute) in (emulated or set())
            return any(_same_dn(dn, member) for member in emulated or set())
        raw = _first(attrs, o.user_enabled_attribute)
        if raw is None:
            raw = o.user_enabled_default
        if o.user_enabled_mask:
            try:
                enabled = not (int(raw) & o.user_enabled_mask)
            except ValueError:
                enabled = True
        else:
            enabled = _bool(raw)
        return not enabled if o.user_enabled_invert else enabled

    def _emulation_members(self) -> set[str] | None:
        if not self.opts.user_enabled_emulation:
            return None
        o = self.opts
        attribute = (
            o.group_member_attribute if o.user_enabled_emulation_use_group_config else "member"
        )
        found = self._search(
            self.opts.user_enabled_emulation_dn, "(objectClass=*)", [attribute], ldap3.BASE
        )
        return {m for _dn, attrs in found for m in _all(attrs, attribute)}

    def _user(
        self, dn: str, attrs: Mapping[str, Any], emulated: set[str] | None
    ) -> DirectoryUser | None:
        o = self.opts
        local_id = _first(attrs, o.user_id_attribute)
        name = _first(attrs, o.user_name_attribute)
        if local_id is None or name is None:
            return None
        return DirectoryUser(
            dn=dn,
            local_id=local_id,
            name=name,
            enabled=self._enabled(dn, attrs, emulated),
            email=_first(attrs, o.user_mail_attribute),
            description=_first(attrs, o.user_description_attribute),
        )

    def _users(self, query: str) -> list[DirectoryUser]:
        emulated = self._emulation_members()
        found = self._search(self.opts.user_tree_dn, query, self._user_attributes())
        users = [self._user(dn, attrs, emulated) for dn, attrs in found]
        return sorted((u for u in users if u is not None), key=lambda u: u.name)

    def list_users(self, name: str | None = None) -> list[DirectoryUser]:
        attribute = self.opts.user_name_attribute if name is not None else None
        return self._users(self._user_query(attribute, name))

    def get_user(self, local_id: str) -> DirectoryUser | None:
        found = self._users(self._user_query(self.opts.user_id_attribute, local_id))
        return found[0] if found else None

    def user_by_name(self, name: str) -> DirectoryUser | None:
        found = self.list_users(name)
        return found[0] if len(found) == 1 else None

    def user_by_dn(self, dn: str) -> DirectoryUser | None:
        found = self._search(dn, self._user_query(), self._user_attributes(), ldap3.BASE)
        if not found:
            return None
        return self._user(found[0][0], found[0][1], self._emulation_members())

    def authenticate(self, user: DirectoryUser, password: str) -> bool:
        """Whether ``password`` binds as the user's DN (an empty password never does)."""
        if not password:
            return False
        try:
            conn = self._bind(user.dn, password)
        except (ldap_errors.LDAPBindError, ldap_errors.LDAPOperationResult):
            # invalid credentials, an unwilling server (no password): not this user
            return False
        except ldap_errors.LDAPException as exc:
            raise ServiceUnavailable(f"The LDAP server is not available: {exc}") from exc
        conn.unbind()
        return True

    # -- groups -----------------------------------------------------------------------------

    def _group_query(self, attribute: str | None = None, value: str | None = None) -> str:
        parts = [f"(objectClass={self.opts.group_objectclass})"]
        if self.opts.group_filter:
            group_filter = self.opts.group_filter
            parts.append(group_filter if group_filter.startswith("(") else f"({group_filter})")
        if attribute is not None and value is not None:
            parts.append(f"({attribute}={escape_filter_chars(value)})")
        return "(&" + "".join(parts) + ")"

    def _groups(self, query: str) -> list[DirectoryGroup]:
        o = self.opts
        attributes = [
            o.group_id_attribute,
            o.group_name_attribute,
            o.group_desc_attribute,
            o.group_member_attribute,
        ]
        out: list[DirectoryGroup] = []
        for dn, attrs in self._search(o.group_tree_dn, query, attributes):
            local_id = _first(attrs, o.group_id_attribute)
            name = _first(attrs, o.group_name_attribute) or local_id
            if local_id is None or name is None:
                continue
            out.append(
                DirectoryGroup(
                    dn=dn,
                    local_id=local_id,
                    name=name,
                    description=_first(attrs, o.group_desc_attribute),
                    members=tuple(_all(attrs, o.group_member_attribute)),
                )
            )
        return sorted(out, key=lambda g: g.name)

    def list_groups(self, name: str | None = None) -> list[DirectoryGroup]:
        attribute = self.opts.group_name_attribute if name is not None else None
        return self._groups(self._group_query(attribute, name))

    def get_group(self, local_id: str) -> DirectoryGroup | None:
        found = self._groups(self._group_query(self.opts.group_id_attribute, local_id))
        return found[0] if found else None

    def groups_for_user(self, user: DirectoryUser) -> list[DirectoryGroup]:
        member = user.local_id if self.opts.group_members_are_ids else user.dn
        return self._groups(self._group_query(self.opts.group_member_attribute, member))

    def members(self, group: DirectoryGroup) -> list[DirectoryUser]:
        users: list[DirectoryUser] = []
        for member in group.members:
            found = self.get_user(member) if self.opts.group_members_are_ids else None
            if not self.opts.group_members_are_ids:
                found = self.user_by_dn(member)
            if found is not None:
                users.append(found)
        return sorted(users, key=lambda u: u.name)

    def is_member(self, group: DirectoryGroup, user: DirectoryUser) -> bool:
        if self.opts.group_members_are_ids:
            return user.local_id in group.members
        return any(_same_dn(user.dn, member) for member in group.members)
