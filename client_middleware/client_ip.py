"""The client address a record carries: the peer, or the first untrusted X-Forwarded-For hop.

Runs off the request path, as records are encoded. Parsed addresses are cached (bounded)
because the same few clients make most requests.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from client_middleware.options import IpNetwork, IpPrivacy

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_FORWARDED_FOR = b"x-forwarded-for"
_CACHE_LIMIT = 4096
_IPV4_KEPT_BITS = 24  # anonymized: the last octet zeroed
_IPV6_KEPT_BITS = 48  # anonymized: the last 80 bits zeroed


class ClientAddresses:
    def __init__(self, privacy: IpPrivacy, trusted_proxies: Sequence[IpNetwork]) -> None:
        self._privacy = privacy
        self._trusted = tuple(trusted_proxies)
        self._reported: dict[str, str | None] = {}

    @property
    def reads_headers(self) -> bool:
        """True when X-Forwarded-For matters (trusted proxies are configured)."""
        return bool(self._trusted) and self._privacy != "none"

    def of(self, peer: str | None, headers: Sequence[tuple[bytes, bytes]]) -> str | None:
        """The address to report for a request from `peer` (scope["client"][0]), or None
        (unknown, or `ip_privacy="none"`)."""
        if self._privacy == "none" or not peer:
            return None
        if self._trusted:
            forwarded = [value for name, value in headers if name.lower() == _FORWARDED_FOR]
            if forwarded:
                return self._report(_first_untrusted_hop(peer, forwarded, self._trusted))
        return self._report(peer)

    def _report(self, address: str | None) -> str | None:
        if address is None:
            return None
        reported = self._reported.get(address, "")
        if reported == "":
            if len(self._reported) >= _CACHE_LIMIT:
                self._reported.clear()
            reported = self._reported[address] = _reportable(address, self._privacy)
        return reported


def _first_untrusted_hop(
    peer: str, forwarded: list[bytes], trusted: tuple[IpNetwork, ...]
) -> str | None:
    """Walk from the peer leftwards through X-Forwarded-For past trusted proxies.

    Only hops a trusted proxy appended can be believed; the first untrusted one is the client.
    When every hop is trusted the leftmost entry is the client.
    """
    peer_address = parse_address(peer)
    if peer_address is None or not _is_trusted(peer_address, trusted):
        return peer
    hops = [hop.strip() for value in forwarded for hop in value.decode("latin-1").split(",")]
    hops = [hop for hop in hops if hop]
    client = peer
    for hop in reversed(hops):
        address = parse_address(hop)
        if address is None:
            return None  # garbage where an address should be: unknown, not a proxy's IP
        client = str(address)
        if not _is_trusted(address, trusted):
            return client
    return client


def _is_trusted(address: IpAddress, trusted: tuple[IpNetwork, ...]) -> bool:
    return any(address.version == network.version and address in network for network in trusted)


def parse_address(text: str) -> IpAddress | None:
    """An address from `1.2.3.4`, `1.2.3.4:80`, `::1` or `[::1]:80`; None if it is not one."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else text[1:]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _reportable(text: str, privacy: IpPrivacy) -> str | None:
    address = parse_address(text)
    if address is None:
        return None  # "testclient", a unix socket path...: the server accepts only addresses
    if privacy == "anonymized":
        return anonymize(address)
    return str(address)


def anonymize(address: IpAddress) -> str:
    """IPv4 with the last octet zeroed; IPv6 with the last 80 bits zeroed."""
    kept = _IPV4_KEPT_BITS if address.version == 4 else _IPV6_KEPT_BITS
    return str(ipaddress.ip_network(f"{address}/{kept}", strict=False).network_address)
