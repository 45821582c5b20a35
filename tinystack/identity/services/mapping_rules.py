"""Keystone's federation mapping language: validate a mapping's rules, and evaluate them
on an assertion (the attributes an identity provider vouched for).

A rule has ``remote`` conditions and ``local`` results. Every remote condition names an
assertion attribute (``type``) that must be present; ``any_one_of`` / ``not_any_of``
accept or reject the rule by the attribute's values (``regex`` for patterns);
``whitelist`` / ``blacklist`` filter the values passed on. The values of every
condition, in order, fill ``{0}``, ``{1}``, ... in the local results: a ``user`` (name,
id, email, domain, type ``ephemeral`` or ``local``), a ``group`` by id or by name and
domain, ``groups`` (names, with a ``domain``), ``group_ids`` and, from schema 2.0 on,
``projects`` (auto-provisioned, with roles by name). Assertion values with ``;`` are
lists (``a;b``), as mod_auth_openidc and mod_shib pass multi-valued attributes.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from tinystack.common.exceptions import ValidationError
from tinystack.identity.services.records import JSONObject

EPHEMERAL = "ephemeral"
LOCAL = "local"
SCHEMA_VERSIONS = ("1.0", "2.0", "3.0")
CONDITIONS = ("any_one_of", "not_any_of", "blacklist", "whitelist")
LOCAL_KEYS = {"user", "group", "groups", "group_ids", "domain", "projects"}
USER_KEYS = {"id", "name", "email", "domain", "type"}


@dataclass
class Mapped:
    """What an assertion maps to."""

    user: dict[str, Any] = field(default_factory=dict)
    group_ids: list[str] = field(default_factory=list)
    #: groups by name: {"name": ..., "domain": {"id"|"name": ...}}
    group_names: list[dict[str, Any]] = field(default_factory=list)
    #: projects to provision: {"name": ..., "roles": [{"name": ...}], "domain"?: {...}}
    projects: list[dict[str, Any]] = field(default_factory=list)

    @property
    def user_type(self) -> str:
        return str(self.user.get("type") or EPHEMERAL)


# -- validation ------------------------------------------------------------------------------


def _fail(message: str) -> ValidationError:
    return ValidationError(f"Invalid mapping: {message}")


def _check_domain(value: Any, where: str) -> None:
    if not isinstance(value, dict) or not value or set(value) - {"id", "name"}:
        raise _fail(f"{where} must be an object with an id or a name")
    if not all(isinstance(v, str) for v in value.values()):
        raise _fail(f"{where} id and name must be strings")


def _check_local(local: Any) -> None:
    if not isinstance(local, dict):
        raise _fail("each local result must be an object")
    unknown = set(local) - LOCAL_KEYS
    if unknown:
        raise _fail(f"Additional properties are not allowed ({', '.join(sorted(unknown))})")
    user = local.get("user")
    if user is not None:
        if not isinstance(user, dict) or set(user) - USER_KEYS:
            raise _fail("user must be an object of id, name, email, domain and type")
        if user.get("type") not in (None, EPHEMERAL, LOCAL):
            raise _fail(f"User type {user.get('type')} not supported")
        if "domain" in user:
            _check_domain(user["domain"], "user domain")
    group = local.get("group")
    if group is not None:
        by_id = isinstance(group, dict) and set(group) == {"id"}
        by_name = isinstance(group, dict) and set(group) == {"name", "domain"}
        if not (by_id or by_name):
            raise _fail("group needs an id, or a name and a domain")
        if by_name:
            _check_domain(group["domain"], "group domain")
    for key in ("groups", "group_ids"):
        if key in local and not isinstance(local[key], str):
            raise _fail(f"{key} must be a string")
    if "domain" in local:
        _check_domain(local["domain"], "domain")
    projects = local.get("projects")
    if projects is not None:
        if not isinstance(projects, list):
            raise _fail("projects must be a list")
        for project in projects:
            if not isinstance(project, dict) or not isinstance(project.get("name"), str):
                raise _fail("each project needs a name and roles")
            roles = project.get("roles")
            if not isinstance(roles, list) or not all(
                isinstance(r, dict) and isinstance(r.get("name"), str) for r in roles
            ):
                raise _fail("each project needs a list of roles by name")


def _check_remote(remote: Any) -> None:
    if not isinstance(remote, dict) or not isinstance(remote.get("type"), str):
        raise _fail("each remote condition needs a type")
    conditions = [c for c in CONDITIONS if c in remote]
    if len(conditions) > 1:
        raise _fail("a remote condition takes one of any_one_of, not_any_of, blacklist, whitelist")
    unknown = set(remote) - {"type", "regex", *CONDITIONS}
    if unknown or ("regex" in remote and not conditions):
        raise _fail(f"Additional properties are not allowed in a remote condition: {remote}")
    for name in conditions:
        if not isinstance(remote[name], list):
            raise _fail(f"{name} must be a list")
    if "regex" in remote and not isinstance(remote["regex"], bool):
        raise _fail("regex must be a boolean")


def validate(rules: Any, schema_version: str | None) -> None:
    """400 unless ``rules`` follow the mapping schema of ``schema_version``."""
    version = schema_version or "1.0"
    if version not in SCHEMA_VERSIONS:
        raise _fail(f"unknown schema_version {version}")
    if not isinstance(rules, list) or not rules:
        raise _fail("rules must be a non-empty list")
    for rule in rules:
        if not isinstance(rule, dict) or set(rule) != {"local", "remote"}:
            raise _fail("each rule has exactly a local and a remote list")
        if not isinstance(rule["local"], list) or not isinstance(rule["remote"], list):
            raise _fail("local and remote must be lists")
        if not rule["remote"]:
            raise _fail("remote must have at least one condition")
        for local in rule["local"]:
            _check_local(local)
        for remote in rule["remote"]:
            _check_remote(remote)


# -- evaluation ------------------------------------------------------------------------------


class _Matches(list[Any]):
    """The values each remote condition passed on, in order."""

    def unwrapped(self) -> list[Any]:
        """For ``str.format``: a single value as itself, several as a list (whose text
        ``"['a', 'b']"`` ``groups`` and ``group_ids`` read back as a list)."""
        return [v[0] if isinstance(v, list) and len(v) == 1 else v for v in self]


def _matching(values: list[Any], asserted: list[str], regex: bool) -> list[str]:
    if regex:
        return [a for a in asserted if any(re.search(str(v), a) for v in values)]
    wanted = {str(v) for v in values}
    return [a for a in asserted if a in wanted]


def _conditions_hold(
    remote: list[dict[str, Any]], assertion: dict[str, list[str]]
) -> _Matches | None:
    """The values each condition passes on, or None when the rule does not apply."""
    matches = _Matches()
    for condition in remote:
        values = assertion.get(condition["type"])
        if not values:
            return None
        regex = bool(condition.get("regex", False))
        if "any_one_of" in condition:
            if not _matching(condition["any_one_of"], values, regex):
                return None
            continue
        if "not_any_of" in condition:
            if _matching(condition["not_any_of"], values, regex):
                return None
            continue
        if "blacklist" in condition:
            hit = set(_matching(condition["blacklist"], values, regex))
            values = [v for v in values if v not in hit]
        elif "whitelist" in condition:
            values = _matching(condition["whitelist"], values, regex)
        matches.append(values)
    return matches


def _fill(template: Any, matches: _Matches) -> Any:
    if isinstance(template, dict):
        return {k: _fill(v, matches) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(item, matches) for item in template]
    if isinstance(template, str):
        try:
            return template.format(*matches.unwrapped())
        except (IndexError, KeyError):
            raise ValidationError(
                "Local section in mapping refers to a remote match that doesn't exist "
                "(e.g. {0} in a local section)."
            ) from None
    return template


def _as_list(value: str) -> list[str]:
    """``"['a', 'b']"`` (a direct map of several values) or a single value."""
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return [value]
    return [str(v) for v in parsed] if isinstance(parsed, list) else [value]


def _groups_by_name(local: dict[str, Any]) -> list[dict[str, Any]]:
    names = _as_list(str(local["groups"]))
    out: list[dict[str, Any]] = []
    for name in names:
        if name.startswith("JSON:"):
            group = json.loads(name[len("JSON:") :])
            if not isinstance(group, dict) or "domain" not in group:
                raise ValidationError("Invalid rule: both 'groups' and 'domain' must be given.")
            out.append(group)
        else:
            if "domain" not in local:
                raise ValidationError("Invalid rule: both 'groups' and 'domain' must be given.")
            out.append({"name": name, "domain": local["domain"]})
    return out


def evaluate(rules: Sequence[JSONObject], attributes: JSONObject) -> Mapped:
    """Map an assertion (the attributes' strings, lists and numbers); 400 when no rule
    applies (upstream's "Could not map")."""
    assertion: dict[str, list[str]] = {}
    for name, value in attributes.items():
        if isinstance(value, str):
            assertion[name] = value.split(";")
        elif isinstance(value, list):
            assertion[name] = [str(v) for v in value]
        elif isinstance(value, bool | int | float):
            assertion[name] = [str(value).lower() if isinstance(value, bool) else str(value)]
    results: list[dict[str, Any]] = []
    for rule in rules:
        remote = cast(list[dict[str, Any]], rule["remote"])
        matches = _conditions_hold(remote, assertion)
        if matches is None:
            continue
        results.extend(_fill(local, matches) for local in cast(list[Any], rule["local"]))
    if not results:
        raise ValidationError(
            "Could not map any federated user properties to identity values. Check debug "
            "logs or the mapping used for additional details."
        )
    mapped = Mapped()
    for result in results:
        if "user" in result and not mapped.user:
            mapped.user = dict(result["user"])
        group = result.get("group")
        if isinstance(group, dict):
            if "id" in group:
                if group["id"] not in mapped.group_ids:
                    mapped.group_ids.append(str(group["id"]))
            else:
                mapped.group_names.append(group)
        if "groups" in result:
            mapped.group_names.extend(_groups_by_name(result))
        if "group_ids" in result:
            for gid in _as_list(str(result["group_ids"])):
                if gid not in mapped.group_ids:
                    mapped.group_ids.append(gid)
        if "projects" in result:
            mapped.projects = list(result["projects"])
    if mapped.user.get("type") not in (None, EPHEMERAL, LOCAL):
        raise ValidationError(f"User type {mapped.user.get('type')} not supported")
    return mapped
