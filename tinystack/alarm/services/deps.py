"""``Deps``: the alarm service's dependency bundle."""

from __future__ import annotations

from dataclasses import dataclass

from tinystack.alarm.conf import Options
from tinystack.common.clients.session import Session
from tinystack.common.db import Database


@dataclass(frozen=True)
class Deps:
    db: Database
    opts: Options
    #: identity with the alarm service's credentials (trusts of ``trust+http`` actions);
    #: None without credentials
    identity: Session | None = None
