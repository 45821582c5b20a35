"""Domain-specific configuration (``/v3/domains/{id}/config``): the ``identity`` and
``ldap`` option groups a domain may override, stored per option in the database.

As upstream, only whitelisted options (and the sensitive ``ldap.password``, which the
API never shows) are accepted; a whitelisted string may reference a sensitive option
as ``%(password)s``. :func:`effective` gives the identity backends a domain's whole
configuration with the sensitive values filled in.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.exceptions import Forbidden, NotFound
from tinystack.identity import models
from tinystack.identity.services import _rows
from tinystack.identity.services.deps import Deps
from tinystack.identity.services.records import JSON

#: the options a domain may set, with the defaults ``/v3/domains/config/default`` shows
#: (Keystone's own defaults for its ``[identity]`` and ``[ldap]`` sections)
WHITELISTED: dict[str, dict[str, JSON]] = {
    "identity": {"driver": "sql", "list_limit": None},
    "ldap": {
        "url": "ldap://localhost",
        "user": None,
        "suffix": "cn=example,cn=com",
        "query_scope": "one",
        "page_size": 0,
        "alias_dereferencing": "default",
        "debug_level": None,
        "chase_referrals": None,
        "user_tree_dn": None,
        "user_filter": None,
        "user_objectclass": "inetOrgPerson",
        "user_id_attribute": "cn",
        "user_name_attribute": "sn",
        "user_mail_attribute": "mail",
        "user_description_attribute": "description",
        "user_pass_attribute": "userPassword",
        "user_enabled_attribute": "enabled",
        "user_enabled_invert": False,
        "user_enabled_mask": 0,
        "user_enabled_default": "True",
        "user_attribute_ignore": ["default_project_id"],
        "user_default_project_id_attribute": None,
        "user_enabled_emulation": False,
        "user_enabled_emulation_dn": None,
        "user_enabled_emulation_use_group_config": False,
        "user_additional_attribute_mapping": [],
        "group_tree_dn": None,
        "group_filter": None,
        "group_objectclass": "groupOfNames",
        "group_id_attribute": "cn",
        "group_name_attribute": "ou",
        "group_members_are_ids": False,
        "group_member_attribute": "member",
        "group_desc_attribute": "description",
        "group_attribute_ignore": [],
        "group_additional_attribute_mapping": [],
        "tls_cacertfile": None,
        "tls_cacertdir": None,
        "use_tls": False,
        "tls_req_cert": "demand",
        "use_pool": True,
        "pool_size": 10,
        "pool_retry_max": 3,
        "pool_retry_delay": 0.1,
        "pool_connection_timeout": -1,
        "pool_connection_lifetime": 600,
        "use_auth_pool": True,
        "auth_pool_size": 100,
        "auth_pool_connection_lifetime": 60,
    },
}
SENSITIVE: dict[str, tuple[str, ...]] = {"identity": (), "ldap": ("password",)}

Config = dict[str, dict[str, JSON]]


def invalid(reason: str) -> Forbidden:
    return Forbidden(f"Invalid domain specific configuration: {reason}.")


def _not_found(domain_id: str, what: str) -> NotFound:
    return NotFound(f"Could not find {what} in domain configuration for domain {domain_id}.")


def _check_group_option(group: str | None, option: str | None) -> None:
    if group is None:
        return
    if group not in WHITELISTED:
        raise invalid(f"Group {group} is not supported for domain specific configurations")
    if option is not None and option not in WHITELISTED[group] and option not in SENSITIVE[group]:
        raise invalid(
            f"Option {option} in group {group} is not supported for domain specific configurations"
        )


def _check_config(config: Any) -> Config:
    if not isinstance(config, dict) or not config:
        raise invalid("No options specified")
    for group, options in config.items():
        if not isinstance(options, dict) or not options:
            raise invalid(
                f"The value of group {group} specified in the config should be a "
                "dictionary of options"
            )
        _check_group_option(group, None)
        for option in options:
            _check_group_option(group, option)
    return config


def _rows_of(
    session: Session, domain_id: str, group: str | None = None, option: str | None = None
) -> list[models.DomainConfig]:
    query = select(models.DomainConfig).where(models.DomainConfig.domain_id == domain_id)
    if group is not None:
        query = query.where(models.DomainConfig.group == group)
    if option is not None:
        query = query.where(models.DomainConfig.option == option)
    return list(session.scalars(query.order_by(models.DomainConfig.group)))


def _shown(rows: list[models.DomainConfig], option: str | None) -> Config | dict[str, JSON]:
    if option is not None:
        return {row.option: row.value for row in rows}
    config: Config = {}
    for row in rows:
        config.setdefault(row.group, {})[row.option] = row.value
    return config


def _store(session: Session, domain_id: str, config: Config) -> None:
    for group, options in config.items():
        for option, value in options.items():
            row = session.get(models.DomainConfig, (domain_id, group, option))
            if row is None:
                row = models.DomainConfig(domain_id=domain_id, group=group, option=option)
                session.add(row)
            row.value = value
            row.sensitive = option in SENSITIVE[group]


def _whitelisted(session: Session, domain_id: str) -> Config:
    rows = [r for r in _rows_of(session, domain_id) if not r.sensitive]
    shown = _shown(rows, None)
    return shown  # type: ignore[return-value]


def create(deps: Deps, domain_id: str, config: Any) -> tuple[Config, bool]:
    """Replace a domain's configuration; the shown config and whether there was none."""
    checked = _check_config(config)

    def tx(session: Session) -> tuple[Config, bool]:
        _rows.domain(session, domain_id)
        existed = bool(_rows_of(session, domain_id))
        session.execute(
            sa.delete(models.DomainConfig).where(models.DomainConfig.domain_id == domain_id)
        )
        session.flush()
        _store(session, domain_id, checked)
        session.flush()
        return _whitelisted(session, domain_id), not existed

    result = deps.db.write(tx)
    deps.clear_caches()
    return result


def show(
    deps: Deps, domain_id: str, group: str | None = None, option: str | None = None
) -> Config | dict[str, JSON]:
    _check_group_option(group, option)
    with deps.db.reader() as session:
        _rows.domain(session, domain_id)
        rows = [r for r in _rows_of(session, domain_id, group, option) if not r.sensitive]
    if rows:
        return _shown(rows, option)
    if option is not None:
        raise _not_found(domain_id, f"option {option} in group {group}")
    if group is not None:
        raise _not_found(domain_id, f"group {group}")
    raise _not_found(domain_id, "any options")


#: the ``[security_compliance]`` options any token holder may read (the password rules a
#: client shows before a user picks a password)
READABLE_COMPLIANCE = ("password_regex", "password_regex_description")


def security_compliance(deps: Deps, domain_id: str, option: str | None) -> dict[str, JSON]:
    """``/v3/domains/default/config/security_compliance[/{option}]``: the cloud's own
    password rules (not stored per domain), as upstream."""
    if domain_id != "default":
        raise Forbidden(
            "Invalid domain specific configuration: Reading security compliance "
            "information for any domain other than the default domain is not allowed "
            "or supported."
        )
    if option is not None and option not in READABLE_COMPLIANCE:
        raise Forbidden(
            "Invalid domain specific configuration: Reading security compliance values "
            "other than password_regex and password_regex_description is not allowed."
        )
    rules = deps.opts.compliance
    values: dict[str, JSON] = {
        "password_regex": rules.password_regex,
        "password_regex_description": rules.password_regex_description,
    }
    if option is not None:
        return {option: values[option]}
    return {"security_compliance": values}


def _check_update(
    session: Session, domain_id: str, config: Config, group: str | None, option: str | None
) -> None:
    if group is None:
        return
    if len(config) != 1 or (option is not None and len(config.get(group, {})) != 1):
        if option is not None:
            raise invalid(
                f"Trying to update option {option} in group {group}, so that, and only "
                "that, option must be specified  in the config"
            )
        raise invalid(
            f"Trying to update group {group}, so that, and only that, group must be "
            "specified in the config"
        )
    if group not in config:
        raise invalid(
            f"request to update group {group}, but config provided contains group "
            f"{next(iter(config))} instead"
        )
    if option is not None and option not in config[group]:
        raise invalid(
            f"Trying to update option {option} in group {group}, but config provided "
            f"contains option {next(iter(config[group]))} instead"
        )
    if not _rows_of(session, domain_id, group, option):
        what = f"option {option} in group {group}" if option else f"group {group}"
        raise _not_found(domain_id, what)


def update(
    deps: Deps, domain_id: str, config: Any, group: str | None = None, option: str | None = None
) -> Config:
    """Merge options into a domain's configuration; the whole shown config."""
    _check_group_option(group, option)
    if group is not None and option is not None:
        config = {group: config} if isinstance(config, dict) else config
    checked = _check_config(config)

    def tx(session: Session) -> Config:
        _rows.domain(session, domain_id)
        _check_update(session, domain_id, checked, group, option)
        _store(session, domain_id, checked)
        session.flush()
        return _whitelisted(session, domain_id)

    result = deps.db.write(tx)
    deps.clear_caches()
    return result


def delete(deps: Deps, domain_id: str, group: str | None = None, option: str | None = None) -> None:
    _check_group_option(group, option)

    def tx(session: Session) -> None:
        _rows.domain(session, domain_id)
        rows = _rows_of(session, domain_id, group, option)
        if group is not None and not rows:
            what = f"option {option} in group {group}" if option else f"group {group}"
            raise _not_found(domain_id, what)
        for row in rows:
            session.delete(row)

    deps.db.write(tx)
    deps.clear_caches()


def default(group: str | None = None, option: str | None = None) -> Config | dict[str, JSON]:
    """The defaults of the whitelisted options (sensitive ones are never shown)."""
    _check_group_option(group, option)
    if group is not None and option is not None:
        if option not in WHITELISTED[group]:
            raise invalid(
                f"Reading the default for option {option} in group {group} is not supported"
            )
        return {option: WHITELISTED[group][option]}
    groups = [group] if group is not None else list(WHITELISTED)
    return {g: dict(WHITELISTED[g]) for g in groups}


def _substitute(value: JSON, sensitive: dict[str, JSON]) -> JSON:
    if not isinstance(value, str) or "%(" not in value:
        return value
    try:
        return value % sensitive
    except (KeyError, ValueError, TypeError):
        return value


def effective(session: Session, domain_id: str) -> Config:
    """A domain's stored options with sensitive values, references substituted."""
    rows = _rows_of(session, domain_id)
    sensitive = {r.option: r.value for r in rows if r.sensitive}
    config: Config = {}
    for row in rows:
        value = row.value if row.sensitive else _substitute(row.value, sensitive)
        config.setdefault(row.group, {})[row.option] = value
    return config
