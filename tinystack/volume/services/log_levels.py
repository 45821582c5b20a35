"""Log levels of the volume service's processes (3.32, ``os-services/set-log`` and
``get-log``): the Python loggers of each service binary running in this process.

Every binary's code lives in its own modules, so each binary has its own loggers:
``cinder-api`` the API and service layer, ``cinder-scheduler`` the scheduler,
``cinder-volume`` the manager and drivers, ``cinder-backup`` the backup worker. Only the
binaries this process runs (:attr:`Deps.local_services`) are changed or reported; a
service in another process is not reached (upstream casts to it over RPC).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tinystack.volume import exception
from tinystack.volume.services.deps import Deps

__all__ = ["BINARIES", "LEVELS", "LogFilter", "ServiceLevels", "get_levels", "set_levels"]

LEVELS = ("INFO", "WARNING", "ERROR", "DEBUG")
#: the binaries whose log levels can be changed, and the loggers each owns
BINARIES: dict[str, tuple[str, ...]] = {
    "cinder-api": ("tinystack.volume.api", "tinystack.volume.services"),
    "cinder-scheduler": ("tinystack.volume.scheduler",),
    "cinder-volume": ("tinystack.volume.manager", "tinystack.volume.drivers"),
    "cinder-backup": ("tinystack.volume.backup",),
}


@dataclass(frozen=True, slots=True)
class LogFilter:
    binary: str | None = None
    server: str | None = None
    prefix: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceLevels:
    binary: str
    host: str
    levels: dict[str, str]


def level_name(level: object) -> str:
    """The level's upper-case name; upstream's message when it is not one of LEVELS."""
    name = level.upper() if isinstance(level, str) else ""
    if name not in LEVELS:
        raise exception.InvalidInput(reason=f"{level} is not a valid log level.")
    return name


def _services(deps: Deps, filters: LogFilter) -> list[tuple[str, str]]:
    if filters.binary in (None, "", "*"):
        wanted = list(BINARIES)
    elif filters.binary in BINARIES:
        wanted = [filters.binary]
    else:
        raise exception.InvalidInput(reason=f"{filters.binary} is not a valid binary.")
    found = []
    for binary in wanted:
        host = deps.local_services.get(binary)
        if host is None:
            continue
        if filters.server and filters.server not in (host, host.partition("@")[0]):
            continue
        found.append((binary, host))
    return found


def _loggers(binary: str, prefix: str | None) -> list[logging.Logger]:
    names = logging.root.manager.loggerDict
    owned = BINARIES[binary]
    chosen = []
    for name in sorted(names):
        if not any(name == root or name.startswith(root + ".") for root in owned):
            continue
        if prefix and not name.startswith(prefix):
            continue
        chosen.append(logging.getLogger(name))
    return chosen


def set_levels(deps: Deps, filters: LogFilter, level: object) -> None:
    """Set ``level`` on the loggers of the matching binaries running here."""
    number = logging.getLevelName(level_name(level))
    for binary, _host in _services(deps, filters):
        for logger in _loggers(binary, filters.prefix):
            logger.setLevel(number)


def get_levels(deps: Deps, filters: LogFilter) -> list[ServiceLevels]:
    """The effective level of each logger of the matching binaries running here."""
    return [
        ServiceLevels(
            binary,
            host,
            {
                logger.name: logging.getLevelName(logger.getEffectiveLevel())
                for logger in _loggers(binary, filters.prefix)
            },
        )
        for binary, host in _services(deps, filters)
    ]
