"""How every store module turns instants into SQLite integers and back.

Integer microseconds since the Unix epoch are exact (a float of epoch
seconds is not, at microsecond resolution), sort correctly, and compare with
plain SQL. One definition, because intervals written by one module are read
by another.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)


def datetime_to_us(value: datetime) -> int:
    """Exact integer microseconds: timedelta floor division never rounds through a float."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r} cannot be stored: which instant is it?")
    return (value - EPOCH) // ONE_US


def us_to_datetime(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)
