"""Delegated tokens in common/auth: the payload's trust, OAuth and access-rule parts on the
wire, revocation events that match them, and the events as the poller reads them."""

from __future__ import annotations

import time
from pathlib import Path

import msgpack

from tinystack.common.auth.keys import KeyRepository
from tinystack.common.auth.poller import parse_events
from tinystack.common.auth.revocation import RevocationEvent, RevocationList
from tinystack.common.auth.tokens import (
    AccessRule,
    OAuthScope,
    TokenCodec,
    TokenPayload,
    TrustScope,
)

TRUST = TrustScope(id="t1", trustor_id="alice", trustee_id="bob", impersonation=False)


def _payload(
    trust: TrustScope | None = None,
    oauth: OAuthScope | None = None,
    access_rules: tuple[AccessRule, ...] | None = None,
) -> TokenPayload:
    return TokenPayload(
        user_id="bob",
        methods=("password",),
        expires_at=time.time() + 60,
        trust=trust,
        oauth=oauth,
        access_rules=access_rules,
    )


def test_round_trip(tmp_path: Path) -> None:
    keys = KeyRepository(tmp_path / "keys")
    keys.setup()
    codec = TokenCodec(keys)
    plain = _payload()
    assert codec.decode(codec.encode(plain)) == plain
    full = _payload(
        trust=TRUST,
        oauth=OAuthScope(access_token_id="a1", consumer_id="c1"),
        access_rules=(AccessRule("compute", "GET", "/v2.1/servers"),),
    )
    assert codec.decode(codec.encode(full)) == full
    # A token without delegation keeps the old wire form (twelve fields).
    wire = codec.encode(plain)
    packed = keys.fernet().decrypt((wire + "=" * (-len(wire) % 4)).encode())
    assert len(msgpack.unpackb(packed)) == 12
    # An empty rule list is kept apart from "no rules".
    none = _payload(access_rules=())
    assert codec.decode(codec.encode(none)).access_rules == ()


def test_events_match_trust_trustor_trustee_and_oauth() -> None:
    before = time.time() + 1
    token = _payload(trust=TRUST, oauth=OAuthScope(access_token_id="a1", consumer_id="c1"))
    matching = (
        RevocationEvent(issued_before=before, trust_id="t1"),
        RevocationEvent(issued_before=before, user_id="alice"),  # the trustor
        RevocationEvent(issued_before=before, user_id="bob"),
        RevocationEvent(issued_before=before, consumer_id="c1"),
        RevocationEvent(issued_before=before, access_token_id="a1"),
    )
    for event in matching:
        revocations = RevocationList()
        revocations.add(event)
        assert revocations.is_revoked(token), event
    others = (
        RevocationEvent(issued_before=before, trust_id="t2"),
        RevocationEvent(issued_before=before, user_id="carol"),
        RevocationEvent(issued_before=before, consumer_id="c2"),
        RevocationEvent(issued_before=time.time() - 60, trust_id="t1"),  # before the token
    )
    for event in others:
        revocations = RevocationList()
        revocations.add(event)
        assert not revocations.is_revoked(token), event
    assert not RevocationList().is_revoked(token)
    plain = RevocationList()
    plain.add(RevocationEvent(issued_before=before, trust_id="t1"))
    assert not plain.is_revoked(_payload())


def test_the_poller_reads_upstreams_names() -> None:
    body = {
        "events": [
            {"OS-TRUST:trust_id": "t1", "issued_before": "2026-01-01T00:00:00.000000Z"},
            {"OS-OAUTH1:consumer_id": "c1", "issued_before": "2026-01-01T00:00:00.000000Z"},
            {"OS-OAUTH1:access_token_id": "a1", "issued_before": "2026-01-01T00:00:00.000000Z"},
        ]
    }
    events = parse_events(body)
    assert [e.trust_id for e in events] == ["t1", None, None]
    assert events[1].consumer_id == "c1" and events[2].access_token_id == "a1"
