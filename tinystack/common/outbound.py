"""Which addresses a server-side fetch of a user-given URL may reach.

A user who can make a service fetch a URL (image web-download and import tasks, any
webhook a service calls) must not reach what only the cloud's hosts can: the host's
own services on loopback, link-local cloud metadata. ``[DEFAULT]
outbound_allowed_networks`` and ``outbound_denied_networks`` (CIDRs) decide: an
address in an allowed network passes; any other passes only while the allow list is
empty and it is in no denied network (loopback, unspecified and link-local are denied
by default). :meth:`AddressFilter.refusal` resolves the URL's host and checks every
address it resolves to (an IPv4-mapped IPv6 address is checked as IPv4), so a name
cannot hide a denied address; callers check each redirect's URL again and, after
connecting, the address actually connected to (:meth:`AddressFilter.check_peer`), so
a name that resolves differently the second time gains nothing. An httpx client built
with :meth:`AddressFilter.hooks` does both on every request and redirect it makes.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from oslo_config import cfg

from tinystack.common.config import OUTBOUND_DENIED

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}


def _networks(values: list[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def _address(value: str) -> Address | None:
    try:
        found = ipaddress.ip_address(value.split("%", 1)[0])  # drop an IPv6 zone
    except ValueError:
        return None
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped
    return found


class Refused(httpx.TransportError):
    """A fetch the address filter refused (an httpx error, so callers' handlers of
    unreachable URLs handle it)."""


@dataclass(frozen=True, slots=True)
class AddressFilter:
    """The allowed and denied networks (by default, none allowed explicitly and the
    defaults of ``[DEFAULT] outbound_denied_networks`` denied)."""

    allowed: tuple[Network, ...] = ()
    denied: tuple[Network, ...] = _networks(OUTBOUND_DENIED)

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> AddressFilter:
        return cls(
            _networks(list(conf.outbound_allowed_networks)),
            _networks(list(conf.outbound_denied_networks)),
        )

    def permits(self, address: str) -> bool:
        """Whether a fetch may connect to ``address`` (an IP literal)."""
        found = _address(address)
        if found is None:
            return False
        if any(found.version == n.version and found in n for n in self.allowed):
            return True
        if self.allowed:
            return False
        return not any(found.version == n.version and found in n for n in self.denied)

    def refusal(self, url: str) -> str | None:
        """Why a fetch of ``url`` may not happen (its host resolves to an address not
        permitted, or does not resolve), or None when every address is permitted."""
        try:
            parts = urlsplit(url)
            port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower(), 0)
        except ValueError:
            return f"{url} is not a valid URL"
        host = parts.hostname or ""
        if not host:
            return f"{url} names no host"
        try:
            infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError) as exc:
            return f"cannot resolve {host}: {exc}"
        for info in infos:
            address = str(info[4][0])
            if not self.permits(address):
                return f"{host} resolves to {address}, which is not an allowed destination"
        return None

    def check_peer(self, response: httpx.Response) -> None:
        """Raise :class:`Refused` unless ``response`` came from a permitted address
        (called before any of its body is read)."""
        stream = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if not peer or not self.permits(str(peer[0])):
            where = peer[0] if peer else "an unknown address"
            raise Refused(f"connected to {where}, not an allowed destination")

    def hooks(self) -> dict[str, list[Callable[..., None]]]:
        """httpx ``event_hooks`` checking every request's URL (each redirect is a new
        request) and the address each response came from."""

        def check_request(request: httpx.Request) -> None:
            reason = self.refusal(str(request.url))
            if reason is not None:
                raise Refused(reason, request=request)

        return {"request": [check_request], "response": [self.check_peer]}
