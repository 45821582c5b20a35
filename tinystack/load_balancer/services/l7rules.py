"""L7 rules of a policy: a comparison of a request's host, path, file type, header or cookie."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.load_balancer import exception, models
from tinystack.load_balancer.policies import l7rule as rules
from tinystack.load_balancer.services import _provisioning, _tree
from tinystack.load_balancer.services.deps import Deps
from tinystack.load_balancer.services.inputs import L7RuleCreate, L7RuleUpdate, ListPage
from tinystack.load_balancer.services.records import L7RuleRecord, of

KEYED = ("HEADER", "COOKIE", "SSL_DN_FIELD")


def record(row: models.L7Rule) -> L7RuleRecord:
    return of(L7RuleRecord, row)


def _check(kind: str, compare: str, key: str | None, value: str) -> None:
    if kind in KEYED and not key:
        raise exception.InvalidOption(f"L7 rule type {kind} needs a key.")
    if kind not in KEYED and key:
        raise exception.InvalidOption(f"L7 rule type {kind} takes no key.")
    if kind == "FILE_TYPE" and compare not in ("EQUAL_TO", "REGEX"):
        raise exception.InvalidOption("FILE_TYPE rules compare with EQUAL_TO or REGEX.")
    if kind.startswith("SSL_"):
        raise exception.ProviderUnsupported("haproxy", f"L7 rule type {kind}")
    if compare == "REGEX":
        try:
            re.compile(value)
        except re.error as exc:
            raise exception.InvalidOption(f"Invalid regex: {value}") from exc
    if re.search(r"\s", value) or '"' in value:
        raise exception.InvalidOption("L7 rule values may not contain whitespace or quotes.")


def _policy(session: Session, policy_id: str) -> models.L7Policy:
    return _tree.load(session, models.L7Policy, policy_id, "L7 Policy")


def _rule(session: Session, policy_id: str, rule_id: str, lock: bool = False) -> models.L7Rule:
    _policy(session, policy_id)
    row = _tree.load(session, models.L7Rule, rule_id, "L7 Rule", lock=lock)
    if row.l7policy_id != policy_id:
        raise exception.ResourceNotFound("L7 Rule", rule_id)
    return row


def create(deps: Deps, ctx: RequestContext, policy_id: str, req: L7RuleCreate) -> L7RuleRecord:
    _check(req.type, req.compare_type, req.key, req.value)

    def tx(session: Session) -> tuple[L7RuleRecord, str]:
        policy = _policy(session, policy_id)
        project = _tree.creating_project(ctx, rules.POST, req.project_id or policy.project_id)
        _tree.check_quota(session, deps, project, "l7rule", models.L7Rule, "L7 Rule")
        lb = _tree.lock_lb(session, policy.load_balancer_id)
        row = models.L7Rule(
            l7policy_id=policy_id,
            type=req.type,
            compare_type=req.compare_type,
            key=req.key,
            value=req.value,
            invert=req.invert,
            name="",
            description="",
        )
        _tree.add_pending(session, row, project, lb.id, req)
        return record(row), lb.host

    return _provisioning.write_and_refresh(deps, ctx, tx)


def get(deps: Deps, ctx: RequestContext, policy_id: str, rule_id: str) -> L7RuleRecord:
    with deps.db.reader() as session:
        row = _rule(session, policy_id, rule_id)
        _tree.authorize(ctx, rules.GET_ONE, row)
        return record(row)


def list_(deps: Deps, ctx: RequestContext, policy_id: str, page: ListPage) -> list[L7RuleRecord]:
    with deps.db.reader() as session:
        policy = _policy(session, policy_id)
        _tree.authorize(ctx, rules.GET_ALL, policy)
        scope = models.L7Rule.l7policy_id == policy_id
        found = _tree.listed(session, ctx, models.L7Rule, rules, page, scope)
        return [record(r) for r in found]


def update(
    deps: Deps, ctx: RequestContext, policy_id: str, rule_id: str, req: L7RuleUpdate
) -> L7RuleRecord:
    def check(_session: Session, row: models.L7Rule) -> None:
        _check(
            req.type or row.type,
            req.compare_type or row.compare_type,
            req.key if "key" in req.model_fields_set else row.key,
            req.value or row.value,
        )

    def change(_session: Session, row: models.L7Rule) -> None:
        for name in ("admin_state_up", "tags", "type", "compare_type", "value", "invert"):
            value = getattr(req, name)
            if name in req.model_fields_set and value is not None:
                setattr(row, name, value)
        if "key" in req.model_fields_set:
            row.key = req.key

    return _provisioning.update(
        deps,
        ctx,
        rules.PUT,
        lambda session: _rule(session, policy_id, rule_id, lock=True),
        change,
        lambda _session, row: record(row),
        check=check,
    )


def delete(deps: Deps, ctx: RequestContext, policy_id: str, rule_id: str) -> None:
    _provisioning.delete(
        deps, ctx, rules.DELETE, lambda session: _rule(session, policy_id, rule_id, lock=True)
    )
