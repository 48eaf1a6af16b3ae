"""Timestamps are stored as integer microseconds: exact, whatever zone they came in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitord.storage.sqlite import datetime_to_us, us_to_datetime

fixed_offsets = st.builds(
    timezone,
    st.timedeltas(min_value=timedelta(hours=-23, minutes=59), max_value=timedelta(hours=23)),
)


@given(
    st.datetimes(
        min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=fixed_offsets
    )
)
def test_aware_datetimes_round_trip_exactly(stamp: datetime) -> None:
    back = us_to_datetime(datetime_to_us(stamp))

    assert back == stamp
    assert back.tzinfo is UTC


@given(st.integers(min_value=-(10**16), max_value=10**17))
def test_microseconds_round_trip_exactly(value: int) -> None:
    assert datetime_to_us(us_to_datetime(value)) == value


def test_the_epoch_and_its_neighbours() -> None:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)

    assert datetime_to_us(epoch) == 0
    assert datetime_to_us(epoch + timedelta(microseconds=1)) == 1
    assert datetime_to_us(epoch - timedelta(microseconds=1)) == -1
    assert datetime_to_us(datetime(1970, 1, 1, 2, tzinfo=timezone(timedelta(hours=2)))) == 0


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        datetime_to_us(datetime(2024, 1, 1))
