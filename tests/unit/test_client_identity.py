"""Client identity: X-Forwarded-For only from trusted proxies, right-most untrusted hop; API keys."""

from __future__ import annotations

import pytest

from chat_service.edge.client_identity import TrustedProxies, api_key_digest, client_ip

PROXIES = TrustedProxies.parse("10.0.0.0/8, 192.168.1.1")


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        # No proxy configured or an untrusted peer: the header is ignored, whatever it says.
        ("203.0.113.7", ["1.2.3.4"], "203.0.113.7"),
        ("203.0.113.7", [], "203.0.113.7"),
        # A trusted proxy: the right-most hop that is not a trusted proxy.
        ("10.0.0.5", ["198.51.100.1"], "198.51.100.1"),
        ("10.0.0.5", ["6.6.6.6, 198.51.100.1"], "198.51.100.1"),  # 6.6.6.6 is client-written
        ("10.0.0.5", ["198.51.100.1, 10.1.1.1"], "198.51.100.1"),  # through two proxies
        ("10.0.0.5", ["6.6.6.6", "198.51.100.1, 192.168.1.1"], "198.51.100.1"),  # two headers
        ("10.0.0.5", [], "10.0.0.5"),
        ("10.0.0.5", ["10.2.2.2, 10.3.3.3"], "10.2.2.2"),  # only proxies: the farthest one
        ("10.0.0.5", ["garbage, 198.51.100.1"], "198.51.100.1"),
        ("10.0.0.5", ["198.51.100.1, garbage"], "10.0.0.5"),  # malformed: stop at what we know
        # IPv6 clients are bucketed by /64; IPv4-mapped addresses are plain IPv4.
        ("2001:db8:1:2:3:4:5:6", [], "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", [], "203.0.113.7"),
        (None, ["1.2.3.4"], "unknown"),
    ],
)
def test_client_ip(peer, forwarded, expected):
    assert client_ip(peer, forwarded, PROXIES) == expected


def test_without_trusted_proxies_the_header_never_counts():
    assert client_ip("10.0.0.5", ["198.51.100.1"], TrustedProxies()) == "10.0.0.5"


def test_a_bad_network_is_an_error():
    with pytest.raises(ValueError, match="does not appear to be"):
        TrustedProxies.parse("10.0.0.0/8, not-a-network")


def test_api_key_from_bearer_or_x_api_key_as_a_digest():
    bearer = api_key_digest({"authorization": "Bearer sk-secret"})
    header = api_key_digest({"x-api-key": "sk-secret"})
    assert bearer == header
    assert bearer is not None
    assert "secret" not in bearer
    assert len(bearer) == 32
    assert api_key_digest({"authorization": "bearer  sk-secret "}) == bearer
    assert api_key_digest({"x-api-key": "sk-other"}) != bearer
    assert api_key_digest({"authorization": "Basic dXNlcjpwYXNz"}) is None
    assert api_key_digest({}) is None
