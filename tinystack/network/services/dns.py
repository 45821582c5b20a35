"""DNS integration (``dns-integration``, ``dns-domain-ports``): names and their checks.

A port's ``dns_name`` is what the network's dnsmasq answers for its addresses
(``dns_assignment``: one hostname and FQDN per fixed IP). As upstream, the name only counts
when ``[network] dns_domain`` is not the default ``openstacklocal.``: with the default, a
requested ``dns_name`` (and a port's ``dns_domain``) is accepted but not kept, and every
address is called ``host-<address with dashes>``. A name given as a FQDN must end with
that domain. Networks keep their ``dns_domain`` whatever the option; floating IPs take
``dns_name``/``dns_domain`` on create but keep them only for an external DNS service,
which tinystack has not, so they read as empty (as upstream without one).

The format checks are pure functions returning the reason a value is refused (None:
valid); the API's models call them, the service layer calls :func:`check_port_dns_name`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tinystack.network.exception import http_bad_request
from tinystack.network.services.records import DnsAssignment

#: upstream's DNS_DOMAIN_DEFAULT: with it, ports keep no dns_name
DEFAULT_DOMAIN = "openstacklocal."
#: longest FQDN a dns_name, dns_domain or both together may make
FQDN_MAX = 255
_LABEL = re.compile(r"^[a-z0-9-]{1,63}$")
_NUMERIC = re.compile(r"^[0-9]+$")


def domain_of(option: str) -> str:
    """``[network] dns_domain`` as a FQDN (trailing dot); empty stays empty."""
    if not option:
        return ""
    return option if option.endswith(".") else option + "."


def names_enabled(domain: str) -> bool:
    """Whether ports keep the ``dns_name`` they are given (a domain other than the default)."""
    return bool(domain) and domain != DEFAULT_DOMAIN


def _label_error(label: str) -> str | None:
    if not label:
        return "Encountered an empty component"
    if label.startswith("-") or label.endswith("-"):
        return f"Name '{label}' must not start or end with a hyphen"
    if not _LABEL.match(label):
        return (
            f"Name '{label}' must be 1-63 characters long, each of which can only be "
            "alphanumeric or a hyphen"
        )
    return None


def format_error(value: str) -> str | None:
    """Why ``value`` is neither a relative (PQDN) nor an absolute (FQDN) DNS name."""
    if not value:
        return None
    trimmed = value[:-1] if value.endswith(".") else value
    reason = None
    if len(trimmed) > FQDN_MAX:
        reason = f"'{trimmed}' exceeds the {FQDN_MAX} character FQDN limit"
    labels = trimmed.split(".")
    for label in labels:
        reason = reason or _label_error(label)
    if reason is None and len(labels) > 1 and _NUMERIC.match(labels[-1]):
        reason = f"TLD '{labels[-1]}' must not be all numeric"
    if reason is None:
        return None
    return f"'{value}' not a valid PQDN or FQDN. Reason: {reason}"


def domain_error(value: str) -> str | None:
    """Why ``value`` is not a DNS domain (a FQDN with room for one more label)."""
    if not value:
        return None
    if not value.endswith("."):
        return f"'{value}' is not a FQDN"
    reason = format_error(value)
    if reason is None and len(value) > FQDN_MAX - 2:
        reason = (
            f"'{value}' contains {len(value)} characters. Adding a sub-domain will cause it "
            f"to exceed the maximum length of a FQDN of '{FQDN_MAX}'"
        )
    return reason


def fip_name_error(value: str) -> str | None:
    """Why ``value`` is not a floating IP's ``dns_name`` (a relative name)."""
    if not value:
        return None
    if value.endswith("."):
        return f"'{value}' is a FQDN. It should be a relative domain name"
    reason = format_error(value)
    if reason is None and len(value) > FQDN_MAX - 3:
        reason = (
            f"'{value}' contains {len(value)} characters. Adding a domain name will cause "
            f"it to exceed the maximum length of a FQDN of '{FQDN_MAX}'"
        )
    return reason


def _bad(attr: str, reason: str) -> Exception:
    return http_bad_request(f"Invalid input for {attr}. Reason: {reason}.")


def check_port_dns_name(value: str, domain: str) -> str:
    """The ``dns_name`` a port keeps: its request (already lowercase and well formed) when
    names are enabled, a relative name that fits in a FQDN with ``domain`` or a FQDN
    inside it; empty when they are not (the default domain)."""
    if not value or not names_enabled(domain):
        return ""
    if not value.endswith("."):
        if len(value) + len(domain) + 1 > FQDN_MAX:
            raise _bad(
                "dns_name",
                f"The dns_name passed is a PQDN and its size is '{len(value)}'. With the "
                f"dns_domain '{domain}' of the service, the FQDN would be longer than the "
                f"maximum of '{FQDN_MAX}'",
            )
        return value
    suffix = "." + domain
    if len(value) <= len(suffix) or not value.endswith(suffix):
        raise _bad(
            "dns_name",
            f"The dns_name passed is a FQDN. Its higher level labels must be the dns_domain "
            f"of the service, '{domain}', with one or more valid DNS labels to the left of "
            f"'{domain}'",
        )
    return value


def assignment(addresses: Iterable[str], dns_name: str, domain: str) -> tuple[DnsAssignment, ...]:
    """``dns_assignment``: per address the port's name (or ``host-<address>``) and FQDN."""
    name = dns_name if names_enabled(domain) else ""
    out = []
    for address in addresses:
        if name:
            hostname = name
            fqdn = name if name.endswith(".") else f"{name}.{domain}"
        else:
            hostname = "host-" + address.replace(".", "-").replace(":", "-")
            fqdn = f"{hostname}.{domain}" if domain else hostname
        out.append(DnsAssignment(hostname=hostname, ip_address=address, fqdn=fqdn))
    return tuple(out)
