"""Endpoint policies (``OS-ENDPOINT-POLICY``): which policy blob an endpoint uses.

A policy is associated with an endpoint, with a service in a region (and the regions
below it), or with a service. An endpoint's policy is the first of: its own association,
one for its service in its region or a region above, one for its service.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.exceptions import NotFound
from tinystack.common.timeutils import new_hex_id
from tinystack.identity import models
from tinystack.identity.services import _rows, convert, policies
from tinystack.identity.services.deps import Deps
from tinystack.identity.services.policies import Policy
from tinystack.identity.services.records import Endpoint

#: an association's key: (endpoint_id, service_id, region_id), the others None
Key = tuple[str | None, str | None, str | None]
NOT_FOUND = "Could not find policy association."


def _find(session: Session, key: Key) -> models.PolicyAssociation | None:
    endpoint_id, service_id, region_id = key
    query = select(models.PolicyAssociation)
    for column, value in (
        (models.PolicyAssociation.endpoint_id, endpoint_id),
        (models.PolicyAssociation.service_id, service_id),
        (models.PolicyAssociation.region_id, region_id),
    ):
        query = query.where(column.is_(None) if value is None else column == value)
    return session.scalars(query).first()


def _check_refs(session: Session, policy_id: str, key: Key) -> None:
    _rows.policy(session, policy_id)
    endpoint_id, service_id, region_id = key
    if endpoint_id is not None:
        _rows.endpoint(session, endpoint_id)
    if service_id is not None:
        _rows.service(session, service_id)
    if region_id is not None:
        _rows.region(session, region_id)


def associate(deps: Deps, policy_id: str, key: Key) -> None:
    """Associate (or re-associate: one policy per key, as upstream)."""

    def tx(session: Session) -> None:
        _check_refs(session, policy_id, key)
        found = _find(session, key)
        if found is not None:
            found.policy_id = policy_id
            return
        endpoint_id, service_id, region_id = key
        session.add(
            models.PolicyAssociation(
                id=new_hex_id(),
                policy_id=policy_id,
                endpoint_id=endpoint_id,
                service_id=service_id,
                region_id=region_id,
            )
        )

    deps.db.write(tx)


def check(deps: Deps, policy_id: str, key: Key) -> None:
    with deps.db.reader() as session:
        _check_refs(session, policy_id, key)
        found = _find(session, key)
        if found is None or found.policy_id != policy_id:
            raise NotFound(NOT_FOUND)


def dissociate(deps: Deps, policy_id: str, key: Key) -> None:
    def tx(session: Session) -> None:
        _check_refs(session, policy_id, key)
        found = _find(session, key)
        if found is None or found.policy_id != policy_id:
            raise NotFound(NOT_FOUND)
        session.delete(found)

    deps.db.write(tx)


def _region_subtree(session: Session, region_id: str) -> set[str]:
    found, frontier = {region_id}, [region_id]
    while frontier:
        children = session.scalars(
            select(models.Region.id).where(models.Region.parent_region_id.in_(frontier))
        )
        frontier = [c for c in children if c not in found]
        found.update(frontier)
    return found


def endpoints_for_policy(deps: Deps, policy_id: str) -> list[Endpoint]:
    with deps.db.reader() as session:
        _rows.policy(session, policy_id)
        found: dict[str, models.Endpoint] = {}
        query = select(models.PolicyAssociation).where(
            models.PolicyAssociation.policy_id == policy_id
        )
        for assoc in session.scalars(query):
            endpoints = select(models.Endpoint)
            if assoc.endpoint_id is not None:
                endpoints = endpoints.where(models.Endpoint.id == assoc.endpoint_id)
            else:
                endpoints = endpoints.where(models.Endpoint.service_id == assoc.service_id)
                if assoc.region_id is not None:
                    regions = _region_subtree(session, assoc.region_id)
                    endpoints = endpoints.where(models.Endpoint.region_id.in_(regions))
            for endpoint in session.scalars(endpoints):
                found.setdefault(endpoint.id, endpoint)
        return [convert.endpoint(e) for e in found.values()]


def policy_for_endpoint(deps: Deps, endpoint_id: str) -> Policy:
    with deps.db.reader() as session:
        endpoint = _rows.endpoint(session, endpoint_id)
        keys: list[Key] = [(endpoint_id, None, None)]
        region_id, seen = endpoint.region_id, set()
        while region_id is not None and region_id not in seen:
            seen.add(region_id)
            keys.append((None, endpoint.service_id, region_id))
            region = session.get(models.Region, region_id)
            region_id = region.parent_region_id if region is not None else None
        keys.append((None, endpoint.service_id, None))
        found = (_find(session, key) for key in keys)
        policy_id = next((a.policy_id for a in found if a is not None), None)
    if policy_id is None:
        raise NotFound(f"No policy is associated with endpoint {endpoint_id}.")
    return policies.show(deps, policy_id)
