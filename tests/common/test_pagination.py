"""The one pagination helper, in each service's style (compute, network, image)."""

from __future__ import annotations

import pytest

from tinystack.common.api import pagination as pg
from tinystack.common.exceptions import BadRequest

IDS = ["a", "b", "c", "d", "e"]


def ident(item: str) -> str:
    return item


# -- limit ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, 1000), ("5", 5), ("0", 0), ("5000", 1000), (" 7", 7)]
)
def test_nova_limit_defaults_to_and_is_capped_at_the_maximum(
    raw: str | None, expected: int
) -> None:
    assert pg.parse_limit(raw, default=1000, maximum=1000, rules=pg.NOVA) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("x", "limit param must be an integer"),
        ("", "limit param must be an integer"),
        ("-1", "limit param must be positive"),
    ],
)
def test_nova_and_glance_limit_errors(raw: str, message: str) -> None:
    for rules in (pg.NOVA, pg.GLANCE):
        with pytest.raises(BadRequest) as err:
            pg.parse_limit(raw, default=25, maximum=1000, rules=rules)
        assert err.value.message == message
        assert err.value.code is None


def test_glance_limit_default_is_capped_too() -> None:
    assert pg.parse_limit(None, default=25, maximum=1000, rules=pg.GLANCE) == 25
    assert pg.parse_limit(None, default=25, maximum=10, rules=pg.GLANCE) == 10


@pytest.mark.parametrize(
    ("raw", "maximum", "expected"),
    [
        (None, None, None),
        ("", None, None),
        ("0", None, None),
        ("3", None, 3),
        (None, 100, 100),
        ("0", 100, 100),
        ("", 100, 100),
        ("500", 100, 100),
        ("7", 100, 7),
    ],
)
def test_neutron_limit_zero_or_absent_means_the_maximum(
    raw: str | None, maximum: int | None, expected: int | None
) -> None:
    assert pg.parse_limit(raw, default=None, maximum=maximum, rules=pg.NEUTRON) == expected


@pytest.mark.parametrize("raw", ["x", "-2", "1.5"])
def test_neutron_limit_error_names_the_value_and_has_a_code(raw: str) -> None:
    with pytest.raises(BadRequest) as err:
        pg.parse_limit(raw, default=None, maximum=None, rules=pg.NEUTRON)
    assert err.value.message == (
        f"Bad limit request: Limit must be an integer 0 or greater and not '{raw}'."
    )
    assert err.value.code == "BadRequest"


# -- the whole query ------------------------------------------------------------------------


def test_parse_page_reads_the_last_value_like_query_params_get() -> None:
    query = [("limit", "2"), ("marker", "a"), ("limit", "3"), ("marker", "b")]
    assert pg.parse_page(query, default=10, maximum=10) == pg.PageRequest(3, "b")


def test_nova_keeps_a_blank_marker_neutron_drops_it() -> None:
    assert pg.parse_page([("marker", "")], default=10, maximum=10).marker == ""
    neutron = pg.parse_page([("marker", ""), ("limit", "1")], default=None, maximum=None,
                            rules=pg.NEUTRON)  # fmt: skip
    assert neutron.marker is None


def test_neutron_page_reverse_and_marker_without_limit() -> None:
    query = [("limit", "2"), ("marker", "c"), ("page_reverse", "True")]
    got = pg.parse_page(query, default=None, maximum=None, rules=pg.NEUTRON, reverse=True)
    assert got == pg.PageRequest(2, "c", page_reverse=True)
    no_limit = pg.parse_page([("marker", "c")], default=None, maximum=None, rules=pg.NEUTRON)
    assert no_limit == pg.PageRequest(None, None)
    # page_reverse is only read for the services that page backwards
    assert not pg.parse_page([("page_reverse", "true")], default=None, maximum=None).page_reverse


# -- paging a list --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (pg.PageRequest(None), IDS),
        (pg.PageRequest(2), ["a", "b"]),
        (pg.PageRequest(2, "b"), ["c", "d"]),
        (pg.PageRequest(None, "c"), ["d", "e"]),
        (pg.PageRequest(0, "a"), []),
        (pg.PageRequest(2, "d", page_reverse=True), ["b", "c"]),
        (pg.PageRequest(5, "b", page_reverse=True), ["a"]),
        (pg.PageRequest(2, None, page_reverse=True), ["d", "e"]),
        (pg.PageRequest(2, "zz"), []),
    ],
)
def test_page(request_: pg.PageRequest, expected: list[str]) -> None:
    assert pg.page(IDS, ident, request_) == expected


def test_an_unknown_marker_raises_the_services_error() -> None:
    with pytest.raises(BadRequest, match=r"^Marker zz could not be found\.$"):
        pg.page(IDS, ident, pg.PageRequest(2, "zz"), unknown_marker=pg.marker_not_found)


def test_next_marker_only_after_a_full_page() -> None:
    assert pg.next_marker(["a", "b"], ident, 2) == "b"
    assert pg.next_marker(["a"], ident, 2) is None
    assert pg.next_marker([], ident, 0) is None
    assert pg.next_marker(["a"], ident, None) is None


# -- links ----------------------------------------------------------------------------------


def test_compute_next_link_keeps_the_query_and_replaces_the_marker() -> None:
    link = pg.next_link(
        "http://c/v2.1/servers/detail", [("name", "x y"), ("marker", "a"), ("limit", "2")], "b"
    )
    assert link == {
        "rel": "next",
        "href": "http://c/v2.1/servers/detail?name=x+y&limit=2&marker=b",
    }


def test_compute_next_link_with_only_limit_and_marker() -> None:
    # os-migrations, os-hypervisors, os-simple-tenant-usage: ?limit=<n>&marker=<id>
    link = pg.next_link("http://c/v2.1/os-migrations", [], "m-1", limit=3)
    assert link["href"] == "http://c/v2.1/os-migrations?limit=3&marker=m-1"
    kept = pg.next_link("http://c/v2.1/x", [("limit", "9")], "m", limit=3)
    assert kept["href"] == "http://c/v2.1/x?limit=9&marker=m"


def test_strip_query() -> None:
    assert pg.strip_query("http://n/v2.0/ports?limit=1") == "http://n/v2.0/ports"
    assert pg.strip_query("http://n/v2.0/ports") == "http://n/v2.0/ports"


def test_neutron_links_forward_page() -> None:
    query = [("limit", "2"), ("marker", "a"), ("name", "n")]
    req = pg.PageRequest(2, "a")
    links = pg.next_previous_links("http://n/v2.0/ports", query, req, count=2, first="b", last="c")
    assert links == [
        {"rel": "next", "href": "http://n/v2.0/ports?limit=2&name=n&marker=c"},
        {
            "rel": "previous",
            "href": "http://n/v2.0/ports?limit=2&name=n&marker=b&page_reverse=True",
        },
    ]


def test_neutron_links_short_pages_and_no_limit() -> None:
    url = "http://n/v2.0/ports"
    short = pg.next_previous_links(url, [("limit", "2")], pg.PageRequest(2), count=1,
                                   first="a", last="a")  # fmt: skip
    assert [link["rel"] for link in short] == ["previous"]
    back = pg.PageRequest(2, "b", page_reverse=True)
    query = [("limit", "2"), ("marker", "b"), ("page_reverse", "True")]
    short_back = pg.next_previous_links(url, query, back, count=1, first="a", last="a")
    assert short_back == [{"rel": "next", "href": f"{url}?limit=2&marker=a"}]
    empty = pg.next_previous_links(url, [("limit", "2")], pg.PageRequest(2), count=0,
                                   first=None, last=None)  # fmt: skip
    assert empty == [{"rel": "previous", "href": f"{url}?limit=2&page_reverse=True"}]
    assert pg.next_previous_links(url, [], pg.PageRequest(None), count=3, first="a",
                                  last="c") == []  # fmt: skip


def test_image_first_and_next() -> None:
    query = [("limit", "2"), ("marker", "a"), ("visibility", "public")]
    assert pg.first_next("/v2/images", query, "c") == {
        "first": "/v2/images?limit=2&visibility=public",
        "next": "/v2/images?limit=2&visibility=public&marker=c",
    }
    assert pg.first_next("/v2/images", [("marker", "a")], None) == {"first": "/v2/images"}
