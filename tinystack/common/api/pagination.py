"""``marker``/``limit`` pagination: parsing the query, paging a list, building the links.

One helper for every service. The services agree on the idea (a page of at most
``limit`` items after the item whose id is ``marker``) and differ in details that
clients see, so those details are parameters:

- parsing: :func:`parse_page` (or :func:`parse_limit` / :func:`parse_marker`) with the
  service's :class:`LimitRules` (:data:`NOVA`, :data:`GLANCE`, :data:`NEUTRON`: the error
  messages, whether ``limit=0`` means "no limit", whether a blank value is absent);
- paging a list in memory: :func:`page` (keyset paging in SQL stays in the services);
- links: :func:`next_link` (compute's ``<collection>_links``), :func:`next_previous_links`
  (network's ``<resource>_links`` with ``page_reverse``), :func:`first_next`
  (image's ``first``/``next``), all from :func:`next_marker`.

It imports nothing from the web stack: handlers pass ``request.query_params.multi_items()``
and the URL of the page; service layers may call the parsing and paging functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar, overload
from urllib.parse import urlencode

from tinystack.common.exceptions import BadRequest

T = TypeVar("T")
#: a query string as ``(name, value)`` pairs in order, e.g. ``request.query_params.multi_items()``
QueryPairs = Sequence[tuple[str, str]]
#: one ``{"rel": ..., "href": ...}`` link
Link = dict[str, str]


@dataclass(frozen=True, slots=True)
class LimitRules:
    """How a service reads ``limit`` and ``marker`` and words its errors.

    ``not_integer`` and ``negative`` are formatted with ``raw`` (the value as sent).
    """

    not_integer: str
    negative: str
    #: the ``code`` of the BadRequest raised (services whose error bodies carry one)
    error_code: str | None = None
    #: ``limit=`` and ``marker=`` (empty) count as absent instead of as values
    blank_is_absent: bool = False
    #: ``limit=0`` means "no limit" (then capped at the maximum) instead of an empty page
    zero_is_unlimited: bool = False
    #: a marker is ignored when there is no limit (neutron pages only with a limit)
    marker_needs_limit: bool = False


#: compute (nova): ``limit param must be an integer`` / ``... must be positive``
NOVA = LimitRules(
    not_integer="limit param must be an integer", negative="limit param must be positive"
)
#: image (glance) words its errors like nova
GLANCE = NOVA
_NEUTRON_LIMIT = "Bad limit request: Limit must be an integer 0 or greater and not '{raw}'."
#: network (neutron): one message, error code ``BadRequest``, ``limit=0`` is no limit
NEUTRON = LimitRules(
    not_integer=_NEUTRON_LIMIT,
    negative=_NEUTRON_LIMIT,
    error_code="BadRequest",
    blank_is_absent=True,
    zero_is_unlimited=True,
    marker_needs_limit=True,
)


@dataclass(frozen=True, slots=True)
class PageRequest:
    """What a list request asks for: at most ``limit`` items after ``marker``."""

    limit: int | None
    marker: str | None = None
    #: the page *before* ``marker`` (network only)
    page_reverse: bool = False


def _error(rules: LimitRules, template: str, raw: str | int) -> BadRequest:
    return BadRequest(template.format(raw=raw), code=rules.error_code)


@overload
def parse_limit(
    raw: str | int | None, *, default: int | None, maximum: int, rules: LimitRules = NOVA
) -> int: ...
@overload
def parse_limit(
    raw: str | int | None, *, default: int | None, maximum: int | None, rules: LimitRules = NOVA
) -> int | None: ...
def parse_limit(
    raw: str | int | None, *, default: int | None, maximum: int | None, rules: LimitRules = NOVA
) -> int | None:
    """The page size asked for: ``default`` when absent, never above ``maximum``.

    ``None`` (no ``default``, or ``limit=0`` under ``zero_is_unlimited``) means "as many as
    allowed": ``maximum``, or no limit at all when there is no maximum.
    """
    value: int | None
    if raw is None or (rules.blank_is_absent and raw == ""):
        value = default
    else:
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise _error(rules, rules.not_integer, raw) from None
        if value < 0:
            raise _error(rules, rules.negative, raw)
        if value == 0 and rules.zero_is_unlimited:
            value = None
    if value is None:
        return maximum
    return value if maximum is None else min(value, maximum)


def parse_marker(raw: str | None, *, rules: LimitRules = NOVA) -> str | None:
    """The marker as sent (``None`` when absent, or blank under ``blank_is_absent``)."""
    if rules.blank_is_absent and not raw:
        return None
    return raw


def _last(query: QueryPairs, name: str) -> str | None:
    """The last value of ``name``, as ``request.query_params.get(name)`` reads it."""
    found = None
    for key, value in query:
        if key == name:
            found = value
    return found


def parse_page(
    query: QueryPairs,
    *,
    default: int | None,
    maximum: int | None,
    rules: LimitRules = NOVA,
    reverse: bool = False,
) -> PageRequest:
    """``limit``, ``marker`` (and, when ``reverse``, ``page_reverse``) of a query string."""
    page_reverse = reverse and (_last(query, "page_reverse") or "false").lower() == "true"
    limit = parse_limit(_last(query, "limit"), default=default, maximum=maximum, rules=rules)
    marker = parse_marker(_last(query, "marker"), rules=rules)
    if limit is None and rules.marker_needs_limit:
        marker = None
    return PageRequest(limit=limit, marker=marker, page_reverse=page_reverse)


def marker_not_found(marker: str) -> BadRequest:
    """Compute's and image's error for a marker that names no visible item."""
    return BadRequest(f"Marker {marker} could not be found.")


def page(
    items: Sequence[T],
    key: Callable[[T], str],
    request: PageRequest,
    *,
    unknown_marker: Callable[[str], Exception] | None = None,
) -> list[T]:
    """One page of ``items`` (already filtered and sorted) after ``request.marker``.

    An unknown marker raises ``unknown_marker(marker)`` when given (compute: ``Marker
    <id> could not be found.``), else yields an empty page (network's emulated paging).
    With ``page_reverse`` the page is the ``limit`` items *before* the marker (or the
    last ``limit`` items without one).
    """
    start, end = 0, len(items)
    if request.marker is not None:
        index = next((n for n, item in enumerate(items) if key(item) == request.marker), None)
        if index is None:
            if unknown_marker is not None:
                raise unknown_marker(request.marker)
            return []
        if request.page_reverse:
            end = index
        else:
            start = index + 1
    if request.limit is None:
        return list(items[start:end])
    if request.page_reverse:
        return list(items[max(end - request.limit, start) : end])
    return list(items[start : start + request.limit])


def next_marker(items: Sequence[T], key: Callable[[T], str], limit: int | None) -> str | None:
    """The marker of the next page: the last item's id when the page is full, else None."""
    if not limit or len(items) != limit:
        return None
    return key(items[-1])


def strip_query(url: str) -> str:
    """``url`` without its query string (the page's own address for the links)."""
    return url.split("?", 1)[0]


def _href(url: str, params: QueryPairs) -> str:
    return f"{url}?{urlencode(params)}"


def next_link(url: str, query: QueryPairs, marker: str, *, limit: int | None = None) -> Link:
    """Compute's ``{"rel": "next"}`` link: the query as sent with ``marker`` replaced.

    ``limit`` is added (before the marker) when the query does not name one, for the
    lists whose links always carry the page size.
    """
    params = [(k, v) for k, v in query if k != "marker"]
    if limit is not None and not any(k == "limit" for k, _ in params):
        params.append(("limit", str(limit)))
    params.append(("marker", marker))
    return {"rel": "next", "href": _href(url, params)}


def next_previous_links(
    url: str,
    query: QueryPairs,
    request: PageRequest,
    *,
    count: int,
    first: str | None,
    last: str | None,
) -> list[Link]:
    """Network's ``<resource>_links``: ``next`` and ``previous``, as neutron renders them.

    ``count`` is the number of items on the page, ``first``/``last`` their ids. No links
    without a limit; no ``next`` after a short forward page, no ``previous`` after a short
    reverse page.
    """
    limit = request.limit
    if not limit:
        return []
    params = [(k, v) for k, v in query if k not in ("marker", "page_reverse")]
    links = []
    if not (count < limit and not request.page_reverse):
        nxt = [*params, ("marker", last)] if last is not None else params
        links.append({"rel": "next", "href": _href(url, nxt)})
    if not (count < limit and request.page_reverse):
        prev = [*params, ("marker", first)] if first is not None else list(params)
        prev.append(("page_reverse", "True"))
        links.append({"rel": "previous", "href": _href(url, prev)})
    return links


def first_next(path: str, query: QueryPairs, marker: str | None) -> dict[str, str]:
    """Image's ``first`` (always) and ``next`` (when there is a next page) hrefs."""
    kept = [(k, v) for k, v in query if k != "marker"]
    hrefs = {"first": path + (f"?{urlencode(kept)}" if kept else "")}
    if marker is not None:
        hrefs["next"] = _href(path, [*kept, ("marker", marker)])
    return hrefs
