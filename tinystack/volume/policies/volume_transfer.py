"""Volume policy rules: volume transfer (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import MEMBER, READER, rule

RULES = [
    rule(
        "volume:get_all_transfers",
        READER,
        "GET /os-volume-transfer",
        "GET /os-volume-transfer/detail",
        "GET /volume_transfers",
        "GET /volume-transfers/detail",
        doc="List volume transfer.",
    ),
    rule(
        "volume:create_transfer",
        MEMBER,
        "POST /os-volume-transfer",
        "POST /volume_transfers",
        doc="Create a volume transfer.",
    ),
    rule(
        "volume:get_transfer",
        READER,
        "GET /os-volume-transfer/{transfer_id}",
        "GET /volume-transfers/{transfer_id}",
        doc="Show one specified volume transfer.",
    ),
    rule(
        "volume:accept_transfer",
        MEMBER,
        "POST /os-volume-transfer/{transfer_id}/accept",
        "POST /volume-transfers/{transfer_id}/accept",
        doc="Accept a volume transfer.",
    ),
    rule(
        "volume:delete_transfer",
        MEMBER,
        "DELETE /os-volume-transfer/{transfer_id}",
        "DELETE /volume-transfers/{transfer_id}",
        doc="Delete volume transfer.",
    ),
]
