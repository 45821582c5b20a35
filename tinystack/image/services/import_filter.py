"""Which URLs the image service may fetch (Glance's ``[import_filtering_opts]``).

web-download, the legacy ``import`` task and each redirect they follow are checked
here: the scheme must be allowed and not disallowed, the host (as written in the
URL, as upstream) allowed when an allow list exists and never on the deny list, the
port (the scheme's default when absent) likewise. An allow list wins over its deny
list only by being set: with an allow list the deny list is not consulted. Beyond
Glance, every address the host resolves to must be one ``[DEFAULT]
outbound_*_networks`` permit (``common/outbound.py``: not loopback or link-local by
default), and ``import_sources`` checks the address it connected to.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from tinystack.image.conf import Options

DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}


def _listed(value: str, allowed: tuple[str, ...], denied: tuple[str, ...]) -> bool:
    if allowed:
        return value in allowed
    return value not in denied


def allowed(opts: Options, uri: object) -> bool:
    """Whether ``uri`` passes the import filter."""
    if not isinstance(uri, str) or not uri:
        return False
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return False
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if not scheme or not host:
        return False
    if not _listed(scheme, opts.import_allowed_schemes, opts.import_disallowed_schemes):
        return False
    if not _listed(host, opts.import_allowed_hosts, opts.import_disallowed_hosts):
        return False
    if port is None:
        port = DEFAULT_PORTS.get(scheme)
    if port is None:
        return False
    if not _listed(str(port), opts.import_allowed_ports, opts.import_disallowed_ports):
        return False
    return opts.outbound.refusal(uri) is None
