"""Availability zone rules."""

from __future__ import annotations

from tinystack.network.policies.base import rule

RULES = [rule("get_availability_zone", "role:reader", "List availability zones.")]
