"""Who is calling: the API key of a request and the client's IP behind trusted proxies."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    """The networks whose X-Forwarded-For is believed (e.g. the load balancer's)."""

    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, setting: str) -> TrustedProxies:
        """Reads a comma-separated list of CIDRs or addresses; raises ValueError on a bad one."""
        parts = [part.strip() for part in setting.split(",") if part.strip()]
        return cls(tuple(ipaddress.ip_network(part, strict=False) for part in parts))

    def __contains__(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


def client_ip(peer: str | None, forwarded_for: Iterable[str], trusted: TrustedProxies) -> str:
    """Returns the client's address as a limit bucket: the peer's, unless the peer is a trusted
    proxy; then the right-most X-Forwarded-For hop that is not a trusted proxy (hops left of it
    could be written by the client itself). IPv6 clients are grouped by /64, the block one
    subscriber usually holds. `forwarded_for` holds the header values in the order received.
    """
    address = _address(peer)
    if address is None:
        return "unknown"
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
    for hop in reversed(hops):
        if address not in trusted:
            break
        parsed = _address(hop)
        if parsed is None:
            break  # a malformed hop: keep the last address we could check
        address = parsed
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def request_client_ip(scope: Mapping[str, Any], trusted: TrustedProxies) -> str:
    """Returns `client_ip` of an ASGI HTTP request: its peer and X-Forwarded-For headers."""
    peer = scope.get("client")
    forwarded = [
        value.decode("latin-1")
        for name, value in scope["headers"]
        if name.lower() == b"x-forwarded-for"
    ]
    return client_ip(peer[0] if peer else None, forwarded, trusted)


def api_key_digest(headers: Mapping[str, str]) -> str | None:
    """Returns a digest of the request's API key (`Authorization: Bearer` or `X-API-Key`),
    None without one. The digest names the key in limit buckets without storing it."""
    key = headers.get("x-api-key", "").strip()
    scheme, _, credentials = headers.get("authorization", "").strip().partition(" ")
    if not key and scheme.lower() == "bearer":
        key = credentials.strip()
    return hashlib.sha256(key.encode()).hexdigest()[:32] if key else None


def _address(text: str | None) -> IPAddress | None:
    if not text:
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
