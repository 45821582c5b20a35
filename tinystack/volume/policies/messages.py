"""Volume policy rules: messages (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import MEMBER, READER, rule

RULES = [
    rule("message:get_all", READER, "GET /messages", doc="List messages."),
    rule("message:get", READER, "GET /messages/{message_id}", doc="Show message."),
    rule("message:delete", MEMBER, "DELETE /messages/{message_id}", doc="Delete message."),
]
