"""The address filter of server-side fetches (``common/outbound.py``)."""

from __future__ import annotations

from tinystack.common import config
from tinystack.common.outbound import AddressFilter


def test_defaults_deny_loopback_unspecified_and_link_local() -> None:
    found = AddressFilter.from_conf(config.make_conf([]))
    for address in ("127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1", "0.0.0.0", "::",
                    "169.254.169.254", "fe80::1%eth0", "not-an-address"):  # fmt: skip
        assert not found.permits(address), address
    for address in ("192.0.2.10", "10.1.2.3", "2001:db8::1"):
        assert found.permits(address), address
    # a name is resolved and each of its addresses checked
    refusal = found.refusal("http://localhost:8080/x")
    assert refusal is not None and "resolves to" in refusal
    assert found.refusal("http://[::1]/x") is not None
    assert found.refusal("https://192.0.2.10/image") is None
    assert found.refusal("http:///nohost") is not None


def test_an_allow_list_admits_only_its_networks() -> None:
    conf = config.make_conf([])
    conf.set_override("outbound_allowed_networks", ["127.0.0.1/32", "192.0.2.0/24"])
    found = AddressFilter.from_conf(conf)
    assert found.permits("127.0.0.1") and found.permits("192.0.2.7")
    assert not found.permits("127.0.0.2") and not found.permits("198.51.100.1")
    conf.set_override("outbound_allowed_networks", [])
    conf.set_override("outbound_denied_networks", ["10.0.0.0/8"])
    found = AddressFilter.from_conf(conf)
    assert found.permits("127.0.0.1") and not found.permits("10.9.9.9")
