"""Atomic iptables rule sets with ``iptables-restore``, as Neutron's IptablesManager does.

:class:`ChainSet` owns the chains named ``PREFIX-*`` of one namespace (IPv4 and
IPv6) and the one jump rule per built-in chain that leads to them. Each
:meth:`ChainSet.apply` writes every owned chain in one ``iptables-restore
--noflush`` per family and table: chains that are declared are flushed and
refilled, chains no longer wanted are deleted, the jump rules are made to exist
exactly once. Chains and rules of anyone else are never touched.

:func:`restore_tables` replaces whole tables of a namespace the agent owns
entirely (router namespaces).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tinystack.network.agents.ip_lib import execute

LOG = logging.getLogger(__name__)
FAMILIES = (4, 6)
#: table -> family -> rule lines of a chain
Rules = dict[str, list[str]]


def binaries(family: int) -> tuple[str, str]:
    if family == 4:
        return "iptables-save", "iptables-restore"
    return "ip6tables-save", "ip6tables-restore"


def available() -> bool:
    return all(shutil.which(b) for b in (*binaries(4), *binaries(6)))


@dataclass
class TableState:
    """Desired content of one table of one family: chains and built-in jumps."""

    chains: dict[str, list[str]] = field(default_factory=dict)
    #: (built-in chain, rule spec) that must exist exactly once, at the top
    jumps: list[tuple[str, str]] = field(default_factory=list)


def _parse_save(text: str, prefix: str) -> tuple[set[str], dict[str, list[str]]]:
    """Our chains, and the rules of built-in chains that jump to them."""
    chains: set[str] = set()
    builtin_rules: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.startswith(":"):
            name = line[1:].split()[0]
            if name.startswith(prefix):
                chains.add(name)
        elif line.startswith("-A "):
            parts = line.split(None, 2)
            if len(parts) == 3 and not parts[1].startswith(prefix) and f"-j {prefix}" in line:
                builtin_rules.setdefault(parts[1], []).append(parts[2])
    return chains, builtin_rules


class ChainSet:
    """The ``PREFIX-*`` chains of the filter/raw/nat tables in one namespace."""

    def __init__(self, prefix: str, namespace: str | None = None, ipv6: bool = True) -> None:
        self.prefix = prefix.rstrip("-") + "-"
        self.namespace = namespace
        self.families = FAMILIES if ipv6 else (4,)

    def chain(self, name: str) -> str:
        full = self.prefix + name
        if len(full) > 28:
            raise ValueError(f"iptables chain name too long: {full}")
        return full

    def apply(self, desired: Mapping[int, Mapping[str, TableState]]) -> None:
        """Make the owned chains of each (family, table) exactly ``desired``.

        Tables absent from ``desired[family]`` but holding owned chains are emptied.
        """
        for family in self.families:
            wanted = desired.get(family, {})
            save, restore = binaries(family)
            current = execute([save], namespace=self.namespace, check=False)
            script = self._script(current, wanted)
            if script:
                execute([restore, "-w", "--noflush"], namespace=self.namespace, input=script)

    def remove_all(self) -> None:
        self.apply({})

    def _script(self, saved: str, wanted: Mapping[str, TableState]) -> str:
        tables = _split_tables(saved)
        out: list[str] = []
        for table in sorted(set(tables) | set(wanted)):
            state = wanted.get(table, TableState())
            have, builtin = _parse_save(tables.get(table, ""), self.prefix)
            if not have and not state.chains:
                continue
            lines = [f"*{table}"]
            stale = sorted(have - set(state.chains))
            for name in [*state.chains, *stale]:
                lines.append(f":{name} - [0:0]")
            for name, rules in state.chains.items():
                lines += [f"-A {name} {rule}" for rule in rules]
            wanted_jumps = {(c, r) for c, r in state.jumps}
            for chain, rules in builtin.items():
                for rule in rules:
                    count_ok = (chain, rule) in wanted_jumps and rules.count(rule) == 1
                    if not count_ok:
                        lines.append(f"-D {chain} {rule}")
            for chain, rule in state.jumps:
                if builtin.get(chain, []).count(rule) != 1:
                    lines.append(f"-I {chain} 1 {rule}")
            lines += [f"-X {name}" for name in stale]
            lines.append("COMMIT")
            out += lines
        return "\n".join(out) + "\n" if out else ""


def _split_tables(saved: str) -> dict[str, str]:
    tables: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in saved.splitlines():
        if line.startswith("*"):
            current = tables.setdefault(line[1:].strip(), [])
        elif current is not None and not line.startswith("#"):
            current.append(line)
    return {name: "\n".join(lines) for name, lines in tables.items()}


def restore_tables(
    namespace: str | None, family: int, tables: Mapping[str, Mapping[str, Sequence[str]]]
) -> None:
    """Replace whole tables (built-in chain -> rules) in a namespace the caller owns."""
    lines: list[str] = []
    for table, chains in tables.items():
        lines.append(f"*{table}")
        for chain, rules in chains.items():
            lines += [f"-A {chain} {rule}" for rule in rules]
        lines.append("COMMIT")
    execute([binaries(family)[1], "-w"], namespace=namespace, input="\n".join(lines) + "\n")
