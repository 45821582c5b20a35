"""Access rules of application credentials, checked by every service as keystonemiddleware does.

A token issued from an application credential with access rules carries them; a service
accepts such a token only for a request whose method equals a rule's, whose service type
is the rule's and whose path matches the rule's pattern: ``*`` (or ``{name}``) matches
one path segment, ``**`` any number of characters including ``/``, anything else itself.
"""

from __future__ import annotations

import functools
import re

from tinystack.common.auth.tokens import AccessRule

_TOKENS = re.compile(r"(?P<tag>\{[^}]*\})|(?P<wild>\*(?=$|[^*]))|(?P<rec>\*\*)|(?P<lit>[^{}*])")


@functools.lru_cache(maxsize=1024)
def _pattern(path: str) -> re.Pattern[str]:
    regex = ""
    for match in _TOKENS.finditer(path):
        if match.group("tag") or match.group("wild"):
            regex += r"[^/]+"
        elif match.group("rec"):
            regex += ".*"
        else:
            regex += re.escape(match.group("lit"))
    return re.compile(f"^{regex}$")


def path_matches(request_path: str, pattern: str) -> bool:
    return _pattern(pattern).match(request_path) is not None


def allows(rules: tuple[AccessRule, ...], service_type: str | None, method: str, path: str) -> bool:
    """Whether ``rules`` let a token make this request of a service of ``service_type``."""
    if not service_type:
        # As keystonemiddleware without a service_type: nothing can be checked, refuse.
        return False
    if service_type == "identity" and method == "GET" and path.endswith("/v3/auth/tokens"):
        return True  # a token may always be validated
    return any(
        rule.method == method and rule.service == service_type and path_matches(path, rule.path)
        for rule in rules
    )
