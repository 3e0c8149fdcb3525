"""Which address a record carries: privacy modes and trusted proxies."""

from __future__ import annotations

import ipaddress

import pytest

from client_middleware.client_ip import ClientAddresses, anonymize, parse_address


def proxies(*cidrs: str) -> tuple:
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


def forwarded(value: str) -> tuple[tuple[bytes, bytes], ...]:
    return ((b"host", b"example"), (b"x-forwarded-for", value.encode()))


@pytest.mark.parametrize(
    ("peer", "reported"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8::1", "2001:db8::1"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("testclient", None),  # not an address: the server accepts only addresses
        (None, None),
    ],
)
def test_full_privacy_reports_the_peer_address(peer, reported):
    assert ClientAddresses("full", ()).of(peer, ()) == reported


@pytest.mark.parametrize(
    ("peer", "reported"),
    [
        ("203.0.113.9", "203.0.113.0"),
        ("2001:db8:1234:5678:9abc:def0:1234:5678", "2001:db8:1234::"),
    ],
)
def test_anonymized_zeroes_the_last_ipv4_octet_and_the_last_80_ipv6_bits(peer, reported):
    assert ClientAddresses("anonymized", ()).of(peer, ()) == reported


def test_none_privacy_reports_no_address():
    addresses = ClientAddresses("none", proxies("10.0.0.0/8"))

    assert addresses.of("203.0.113.9", forwarded("198.51.100.1")) is None


def test_forwarded_for_is_ignored_without_trusted_proxies():
    assert ClientAddresses("full", ()).of("10.0.0.2", forwarded("198.51.100.1")) == "10.0.0.2"


def test_forwarded_for_is_ignored_when_the_peer_is_not_a_trusted_proxy():
    addresses = ClientAddresses("full", proxies("10.0.0.0/8"))

    assert addresses.of("203.0.113.50", forwarded("198.51.100.1")) == "203.0.113.50"


def test_the_client_is_the_first_untrusted_hop_from_the_right():
    addresses = ClientAddresses("full", proxies("10.0.0.0/8", "192.168.0.0/16"))

    # A client can write anything left of its own address; only proxies' additions count.
    reported = addresses.of("10.0.0.2", forwarded("6.6.6.6, 198.51.100.1, 192.168.1.1"))

    assert reported == "198.51.100.1"


def test_several_forwarded_for_headers_read_as_one_list():
    addresses = ClientAddresses("full", proxies("10.0.0.0/8"))
    headers = (
        (b"x-forwarded-for", b"198.51.100.1"),
        (b"x-forwarded-for", b"10.1.1.1"),
    )

    assert addresses.of("10.0.0.2", headers) == "198.51.100.1"


def test_when_every_hop_is_trusted_the_leftmost_is_the_client():
    addresses = ClientAddresses("full", proxies("10.0.0.0/8"))

    assert addresses.of("10.0.0.2", forwarded("10.9.9.9, 10.1.1.1")) == "10.9.9.9"


def test_garbage_in_forwarded_for_gives_no_address_rather_than_a_proxys():
    addresses = ClientAddresses("full", proxies("10.0.0.0/8"))

    assert addresses.of("10.0.0.2", forwarded("not-an-ip, 10.1.1.1")) is None


def test_forwarded_addresses_are_anonymized_too():
    addresses = ClientAddresses("anonymized", proxies("10.0.0.0/8"))

    assert addresses.of("10.0.0.2", forwarded("198.51.100.77")) == "198.51.100.0"


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("1.2.3.4", "1.2.3.4"),
        ("1.2.3.4:8080", "1.2.3.4"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        (" 1.2.3.4 ", "1.2.3.4"),
        ("unknown", None),
        ("", None),
    ],
)
def test_parse_address_accepts_ports_and_brackets(text, address):
    parsed = parse_address(text)
    assert (None if parsed is None else str(parsed)) == address


def test_anonymize_ipv4_keeps_a_slash_24():
    assert anonymize(ipaddress.ip_address("192.0.2.255")) == "192.0.2.0"
