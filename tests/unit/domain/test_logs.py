import dataclasses
import ipaddress
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.domain.logs import RequestLog, as_utc, normalize_ip, request_logs_of

OCTETS = st.one_of(
    st.integers(0, 255).map(str),
    st.integers(0, 999).map(str),
    st.integers(0, 255).map(lambda n: f"0{n}"),  # a leading zero: refused
    st.sampled_from(["", " ", "+1", "1 ", "٣", "0x1", "1e2"]),
)
IPV4_LIKE_TEXTS = st.lists(OCTETS, min_size=3, max_size=5).map(".".join)


def ipaddress_answer(raw: str) -> str | None:
    """What normalize_ip gives for `raw` by ipaddress alone: the address or None if refused."""
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        return None


@given(st.one_of(IPV4_LIKE_TEXTS, st.ip_addresses().map(str), st.text(max_size=20)))
def test_normalize_ip_answers_as_ipaddress_does(raw: str) -> None:
    expected = None if raw == "" else ipaddress_answer(raw)

    try:
        answer = normalize_ip(raw)
    except ValueError:
        answer = None

    assert answer == expected


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [("10.0.0.1", "10.0.0.1"), (" 10.0.0.1 ", "10.0.0.1"), ("2001:DB8:0:0::1", "2001:db8::1")],
)
def test_normalize_ip_gives_the_canonical_text(raw: str, canonical: str) -> None:
    assert normalize_ip(raw) == canonical


@pytest.mark.parametrize("raw", ["010.0.0.1", "10.0.0.1\n1", "256.0.0.1", "1.2.3", "٣.٣.٣.٣"])
def test_normalize_ip_refuses_what_is_not_an_address(raw: str) -> None:
    with pytest.raises(ValueError):
        normalize_ip(raw)


@given(st.datetimes())
def test_a_naive_time_is_taken_as_utc(moment: datetime) -> None:
    converted = as_utc(moment)

    assert converted == moment.replace(tzinfo=UTC)
    assert converted.tzinfo is UTC


@given(st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 1, 1)))
def test_an_aware_time_is_converted_to_utc(moment: datetime) -> None:
    aware = moment.replace(tzinfo=timezone(timedelta(hours=5, minutes=30)))

    converted = as_utc(aware)

    assert converted == aware
    assert converted.tzinfo is UTC


FIELD_VALUES = st.tuples(
    st.datetimes(timezones=st.just(UTC)),
    st.sampled_from(["GET", "POST"]),
    st.text(min_size=1, max_size=5),
    st.none() | st.just("10.0.0.1"),
    st.integers(0, 10**9),
    st.integers(100, 599),
    st.none() | st.text(max_size=5),
    st.none() | st.text(max_size=5),
    st.none() | st.text(max_size=5),
)


@given(st.lists(FIELD_VALUES, max_size=5))
def test_request_logs_of_builds_what_the_constructor_builds(rows: list[tuple]) -> None:
    built = request_logs_of(rows)

    expected = [RequestLog(*row) for row in rows]
    assert built == expected
    assert [hash(log) for log in built] == [hash(log) for log in expected]
    assert [dataclasses.astuple(log) for log in built] == rows


def test_request_logs_of_builds_frozen_logs() -> None:
    [log] = request_logs_of(
        [(datetime(2024, 2, 7, tzinfo=UTC), "GET", "/", None, 1, 200, *[None] * 3)]
    )

    with pytest.raises(dataclasses.FrozenInstanceError):
        log.status_code = 500  # type: ignore[misc]
