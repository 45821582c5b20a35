"""Aodh's ``trust+http(s)://`` alarm actions: the webhook is called with a token of a
Keystone trust from the alarm's creator to the alarm service's user.

An action ``trust+http://host/path`` without a trust id gets one when the alarm is
created or replaced: the trust is created with the caller's own token (trustor the
caller, trustee the alarm service's user, the caller's roles on the caller's project,
impersonation) and written into the action as ``trust+http://<trust id>:delegation@
host/path`` — one trust per alarm, the password ``delegation`` marking the trust as
the alarm service's own. The API shows such actions without their credentials, so a
GET-then-PUT (``openstack alarm update``) keeps the trust; a replace that drops every
trust action, or the alarm's deletion, deletes it (with the caller's token). An action
that names a trust itself (``trust+http://<trust id>@host/path``) is used as given and
never deleted. The notifier asks identity for a token scoped to the trust (as the
alarm service's user, the trustee) and calls ``http://host/path`` with it in
``X-Auth-Token`` — only if the trust's trustor is the alarm's user (a check Aodh does
not make: a trust id shown or guessed would otherwise let an alarm act as whoever
trusted the alarm service; an admin's alarm made for another user with a trust action
is refused at notification for the same reason)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from urllib.parse import SplitResult, urlsplit

from tinystack.alarm.services.deps import Deps
from tinystack.alarm.services.records import Caller
from tinystack.common.clients.session import ClientError, ClientNotFound
from tinystack.common.exceptions import BadRequest

LOG = logging.getLogger(__name__)

PREFIX = "trust+"
#: the password marking a trust the alarm service created (and so deletes)
OWN = "delegation"


def is_trust(action: str) -> bool:
    return urlsplit(action).scheme.startswith(PREFIX)


def owned_ids(actions: Iterable[str]) -> Iterator[str]:
    """The ids of the trusts the alarm service created for these actions."""
    for action in actions:
        url = urlsplit(action)
        if url.scheme.startswith(PREFIX) and url.username and url.password == OWN:
            yield url.username


def scrubbed(action: str) -> str:
    """The action as the API shows it: a trust the service owns left out."""
    url = urlsplit(action)
    if not url.scheme.startswith(PREFIX) or url.password is None:
        return action
    host = url.netloc.rsplit("@", 1)[-1]
    return SplitResult(url.scheme, host, url.path, url.query, url.fragment).geturl()


def target(action: str) -> tuple[str | None, str]:
    """The trust id of a trust action and the plain URL it calls."""
    url = urlsplit(action)
    host = url.netloc.rsplit("@", 1)[-1]
    plain = SplitResult(url.scheme.removeprefix(PREFIX), host, url.path, url.query, url.fragment)
    return url.username, plain.geturl()


def _create(deps: Deps, caller: Caller) -> str:
    if deps.identity is None or caller.token is None:
        raise BadRequest("trust+http actions need the alarm service's identity credentials")
    body = {"trust": {"trustor_user_id": caller.user_id,
                      "trustee_user_id": deps.identity.user_id(),
                      "project_id": caller.project_id, "impersonation": True,
                      "roles": [{"name": role} for role in caller.roles]}}  # fmt: skip
    try:
        reply = deps.identity.request(
            "identity", "POST", "/OS-TRUST/trusts", json_body=body, token=caller.token
        )
    except ClientError as exc:
        if 400 <= exc.status < 500:
            raise BadRequest(f"Unable to create a trust for the alarm: {exc.message}") from exc
        raise
    return str(reply.json()["trust"]["id"])


def release(deps: Deps, caller: Caller, trust_ids: Iterable[str]) -> None:
    """Delete trusts the service created (one already gone is fine; a failure is
    logged: the alarm change it follows is done)."""
    for trust_id in trust_ids:
        if deps.identity is None:
            return
        try:
            deps.identity.request(
                "identity", "DELETE", f"/OS-TRUST/trusts/{trust_id}", token=caller.token
            )
        except ClientNotFound:
            continue
        except ClientError as exc:
            LOG.warning("could not delete trust %s: %s", trust_id, exc)


def delegate(
    deps: Deps, caller: Caller, actions: dict[str, list[str]], old: Iterable[str] = ()
) -> tuple[set[str], set[str]]:
    """Put a trust into every ``trust+`` action of ``actions`` (state → actions, changed
    in place) that names none: the alarm's own trust (among ``old``, its previous
    actions) if it has one, else a new one. Answers the trusts created and those no
    longer used (for the caller to delete once the change is stored, or, should it
    fail, the created ones)."""
    previous = set(owned_ids(old))
    trust_id = next(iter(sorted(previous)), None)
    created: set[str] = set()
    used = False
    for key, listed in actions.items():
        for index, action in enumerate(listed):
            url = urlsplit(action)
            if not url.scheme.startswith(PREFIX) or "@" in url.netloc:
                continue
            if trust_id is None:
                trust_id = _create(deps, caller)
                created.add(trust_id)
            credentials = trust_id if used else f"{trust_id}:{OWN}"
            used = True
            listed[index] = SplitResult(url.scheme, f"{credentials}@{url.netloc}", url.path,
                                        url.query, url.fragment).geturl()  # fmt: skip
        actions[key] = listed
    in_use = set(owned_ids(a for listed in actions.values() for a in listed))
    return created, (previous | created) - in_use
