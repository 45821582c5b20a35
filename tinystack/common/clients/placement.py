"""Placement client: providers, inventories, traits, aggregates, candidates, allocations."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tinystack.common.clients.session import ClientConflict, ClientError, ClientNotFound, Session

LOG = logging.getLogger(__name__)

MICROVERSION = "1.39"
HEADERS = {"OpenStack-API-Version": f"placement {MICROVERSION}"}
#: a PUT that lost a generation race is retried this many times
GENERATION_RETRIES = 10

Allocations = dict[str, dict[str, Any]]


@dataclass
class CandidateSet:
    """GET /allocation_candidates: the allocation requests and their providers' summaries."""

    allocation_requests: list[dict[str, Any]] = field(default_factory=list)
    provider_summaries: dict[str, dict[str, Any]] = field(default_factory=dict)


def _is_generation_conflict(exc: ClientConflict) -> bool:
    body = exc.body if isinstance(exc.body, dict) else {}
    codes = {e.get("code") for e in body.get("errors", []) if isinstance(e, dict)}
    return "placement.concurrent_update" in codes or "generation" in exc.message.lower()


class PlacementClient:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Any = None,
        ok: tuple[int, ...] = (200, 201, 204),
    ) -> Any:
        response = self.session.request(
            "placement", method, path, json_body=body, params=params, headers=HEADERS, ok=ok
        )
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    # -- resource providers --------------------------------------------------------------------
    def get_provider(self, uuid: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = self._call("GET", f"/resource_providers/{uuid}")
        except ClientNotFound:
            return None
        return result

    def ensure_provider(self, uuid: str, name: str) -> dict[str, Any]:
        """The provider ``uuid``, created with ``name`` if it does not exist."""
        found = self.get_provider(uuid)
        if found is not None:
            return found
        try:
            created: dict[str, Any] = self._call(
                "POST", "/resource_providers", body={"uuid": uuid, "name": name}
            )
            return created
        except ClientConflict:
            found = self.get_provider(uuid)
            if found is None:
                raise
            return found

    def delete_provider(self, uuid: str) -> None:
        try:
            self._call("DELETE", f"/resource_providers/{uuid}")
        except ClientNotFound:
            pass

    def _with_generation(
        self, uuid: str, write: Callable[[int], Any], *, current: int | None = None
    ) -> Any:
        """Run ``write(generation)``, re-reading the generation after a lost race."""
        generation = current
        for _ in range(GENERATION_RETRIES):
            if generation is None:
                provider = self.get_provider(uuid)
                if provider is None:
                    raise ClientNotFound("placement", 404, f"resource provider {uuid} not found")
                generation = int(provider["generation"])
            try:
                return write(generation)
            except ClientConflict as exc:
                if not _is_generation_conflict(exc):
                    raise
                generation = None
        raise ClientError("placement", 409, f"generation conflicts kept updating {uuid}")

    def set_inventories(
        self, uuid: str, inventories: dict[str, dict[str, Any]], generation: int | None = None
    ) -> int:
        """Replace the provider's inventories; returns the new generation."""

        def write(gen: int) -> int:
            result = self._call(
                "PUT",
                f"/resource_providers/{uuid}/inventories",
                body={"resource_provider_generation": gen, "inventories": inventories},
            )
            return int(result["resource_provider_generation"])

        return int(self._with_generation(uuid, write, current=generation))

    def get_inventories(self, uuid: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/resource_providers/{uuid}/inventories")
        return result

    def get_traits(self, uuid: str) -> tuple[set[str], int]:
        result = self._call("GET", f"/resource_providers/{uuid}/traits")
        return set(result["traits"]), int(result["resource_provider_generation"])

    def ensure_traits(self, names: Iterable[str]) -> None:
        for name in names:
            if name.startswith("CUSTOM_"):
                self._call("PUT", f"/traits/{name}", ok=(201, 204))

    def update_traits(self, uuid: str, add: Iterable[str] = (), remove: Iterable[str] = ()) -> None:
        """Add and remove traits on a provider, keeping its other traits."""
        add, remove = set(add), set(remove)
        self.ensure_traits(add)

        def write(gen: int) -> None:
            traits, current_gen = self.get_traits(uuid)
            wanted = (traits | add) - remove
            if wanted == traits:
                return
            self._call(
                "PUT",
                f"/resource_providers/{uuid}/traits",
                body={"traits": sorted(wanted), "resource_provider_generation": current_gen},
            )

        self._with_generation(uuid, write, current=0)

    def get_aggregates(self, uuid: str) -> tuple[set[str], int]:
        result = self._call("GET", f"/resource_providers/{uuid}/aggregates")
        return set(result["aggregates"]), int(result["resource_provider_generation"])

    def update_aggregates(
        self, uuid: str, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> None:
        add, remove = set(add), set(remove)

        def write(_gen: int) -> None:
            aggs, gen = self.get_aggregates(uuid)
            wanted = (aggs | add) - remove
            if wanted == aggs:
                return
            self._call(
                "PUT",
                f"/resource_providers/{uuid}/aggregates",
                body={"aggregates": sorted(wanted), "resource_provider_generation": gen},
            )

        self._with_generation(uuid, write, current=0)

    def provider_usages(self, uuid: str) -> dict[str, int]:
        result = self._call("GET", f"/resource_providers/{uuid}/usages")
        return {k: int(v) for k, v in result["usages"].items()}

    # -- scheduling ----------------------------------------------------------------------------
    def allocation_candidates(
        self,
        resources: dict[str, int],
        *,
        required: Iterable[str] = (),
        member_of: Iterable[str] = (),
        in_tree: str | None = None,
        limit: int | None = None,
    ) -> CandidateSet:
        params: list[tuple[str, Any]] = [
            ("resources", ",".join(f"{rc}:{amount}" for rc, amount in sorted(resources.items())))
        ]
        required = list(required)
        if required:
            params.append(("required", ",".join(required)))
        for group in member_of:
            params.append(("member_of", group))
        if in_tree:
            params.append(("in_tree", in_tree))
        if limit:
            params.append(("limit", limit))
        result = self._call("GET", "/allocation_candidates", params=params)
        return CandidateSet(result["allocation_requests"], result["provider_summaries"])

    # -- allocations ---------------------------------------------------------------------------
    def get_allocations(self, consumer: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/allocations/{consumer}")
        return result

    def claim(
        self,
        consumer: str,
        allocations: Allocations,
        *,
        project_id: str,
        user_id: str,
        consumer_generation: int | None = None,
        consumer_type: str = "INSTANCE",
    ) -> bool:
        """Write a consumer's allocations; False when capacity is gone (a lost race)."""
        body = {
            "allocations": {
                rp: {"resources": dict(alloc["resources"])} for rp, alloc in allocations.items()
            },
            "project_id": project_id,
            "user_id": user_id,
            "consumer_generation": consumer_generation,
            "consumer_type": consumer_type,
        }
        try:
            self._call("PUT", f"/allocations/{consumer}", body=body)
        except ClientConflict as exc:
            LOG.debug("claim for %s refused: %s", consumer, exc.message)
            return False
        return True

    def replace_allocations(self, consumers: dict[str, dict[str, Any]]) -> bool:
        """POST /allocations: several consumers' allocations in one transaction."""
        body = {}
        for consumer, data in consumers.items():
            body[consumer] = {
                "allocations": {
                    rp: {"resources": dict(a["resources"])}
                    for rp, a in data.get("allocations", {}).items()
                },
                "project_id": data["project_id"],
                "user_id": data["user_id"],
                "consumer_generation": data.get("consumer_generation"),
                "consumer_type": data.get("consumer_type", "INSTANCE"),
            }
        try:
            self._call("POST", "/allocations", body=body)
        except ClientConflict as exc:
            LOG.debug("allocation replacement refused: %s", exc.message)
            return False
        return True

    def move_allocations(self, source: str, target: str, *, consumer_type: str) -> bool:
        """Move every allocation of ``source`` to ``target`` (upstream's migration swap)."""
        current = self.get_allocations(source)
        if not current.get("allocations"):
            return True
        target_now = self.get_allocations(target)
        return self.replace_allocations(
            {
                source: {
                    "allocations": {},
                    "project_id": current["project_id"],
                    "user_id": current["user_id"],
                    "consumer_generation": current.get("consumer_generation"),
                    "consumer_type": current.get("consumer_type", "INSTANCE"),
                },
                target: {
                    "allocations": current["allocations"],
                    "project_id": current["project_id"],
                    "user_id": current["user_id"],
                    "consumer_generation": target_now.get("consumer_generation"),
                    "consumer_type": consumer_type,
                },
            }
        )

    def delete_allocations(self, consumer: str) -> bool:
        """Remove a consumer's allocations; False if it had none."""
        try:
            self._call("DELETE", f"/allocations/{consumer}")
        except ClientNotFound:
            return False
        return True

    def consumers_of(self, uuid: str) -> dict[str, dict[str, int]]:
        """GET /resource_providers/{uuid}/allocations: consumer -> resources."""
        result = self._call("GET", f"/resource_providers/{uuid}/allocations")
        return {c: dict(a["resources"]) for c, a in result["allocations"].items()}
