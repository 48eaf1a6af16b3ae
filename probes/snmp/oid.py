"""`snmp_oid`: a generic GET or table walk with comparators.

This is how the SLA's "tenants up" and "process running" are expressed
without a probe per vendor MIB: walk a status column and require every row to
equal 1, or walk hrSWRunName, keep the rows matching `^kamailio$` and require
at least N of them. Rules:

- GET: each value condition applies to the one value.
- walk: `where` (a regex on the value) picks rows first; `min_rows`/`max_rows`
  count the picked rows; each value condition must hold for every picked row.
- `equals`/`not_equals` compare as numbers when both sides are numbers, else
  as text; `less_than`/`greater_than` need numbers; `matches` is a regex
  search on the text.

A broken condition is a `threshold` failure naming the value; a value that
cannot be compared (text where a number is needed) is `malformed_response`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from probes.base import FailureReason, ProbeResult
from probes.errors import NotComparable, SnmpError
from probes.measurements import SnmpOidMeasured
from probes.snmp.client import SnmpClient, SnmpEndpoint, Value, failed

SHOW_ROWS = 5  # offending rows named in a failure detail


@dataclass(frozen=True, slots=True)
class Expectation:
    """What the value(s) must satisfy; None means "not checked"."""

    equals: float | str | None = None
    not_equals: float | str | None = None
    less_than: float | None = None
    greater_than: float | None = None
    matches: re.Pattern[str] | None = None
    where: re.Pattern[str] | None = None
    min_rows: int | None = None
    max_rows: int | None = None


def _num(value: Value | float) -> float | None:
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except ValueError:
        return None


def _same(value: Value, expected: float | str) -> bool:
    a, b = _num(value), _num(expected)
    if a is not None and b is not None:
        return a == b
    return str(value) == str(expected)


def _needs_number(value: Value) -> float:
    n = _num(value)
    if n is None:
        raise NotComparable(f"value {value!r} is not a number")
    return n


def violation(value: Value, e: Expectation) -> str | None:
    """Why `value` breaks the expectation, or None when it holds."""
    if e.equals is not None and not _same(value, e.equals):
        return f"{value!r} != {e.equals!r}"
    if e.not_equals is not None and _same(value, e.not_equals):
        return f"{value!r} == {e.not_equals!r}"
    if e.less_than is not None and not _needs_number(value) < e.less_than:
        return f"{value!r} is not < {e.less_than:g}"
    if e.greater_than is not None and not _needs_number(value) > e.greater_than:
        return f"{value!r} is not > {e.greater_than:g}"
    if e.matches is not None and not e.matches.search(str(value)):
        return f"{value!r} does not match {e.matches.pattern!r}"
    return None


def evaluate_rows(rows: Mapping[str, Value], e: Expectation) -> tuple[int, list[str]]:
    """(number of picked rows, problems) for a walked column."""
    picked = {i: v for i, v in rows.items() if e.where is None or e.where.search(str(v))}
    problems: list[str] = []
    n = len(picked)
    if e.min_rows is not None and n < e.min_rows:
        problems.append(f"{n} row(s), fewer than min_rows {e.min_rows}")
    if e.max_rows is not None and n > e.max_rows:
        problems.append(f"{n} row(s), more than max_rows {e.max_rows}")
    bad = [(i, why) for i, v in picked.items() if (why := violation(v, e)) is not None]
    problems.extend(f"row {i}: {why}" for i, why in bad[:SHOW_ROWS])
    if len(bad) > SHOW_ROWS:
        problems.append(f"and {len(bad) - SHOW_ROWS} more row(s)")
    return n, problems


@dataclass(frozen=True, slots=True)
class SnmpOidProbe:
    endpoint: SnmpEndpoint
    client: SnmpClient
    oid: str
    expect: Expectation
    walk: bool = False
    max_repetitions: int = 25
    max_rows: int = 10_000

    async def run(self, deadline: float) -> ProbeResult:
        try:
            if self.walk:
                return await self._walk(deadline)
            return await self._get(deadline)
        except SnmpError as exc:
            return failed(exc)
        except NotComparable as exc:
            return ProbeResult.failure(FailureReason.MALFORMED, f"{self.oid}: {exc}")

    async def _get(self, deadline: float) -> ProbeResult:
        values, latency = await self.client.get(self.endpoint, [self.oid], deadline)
        value = values[self.oid]
        number = _num(value)
        measured = SnmpOidMeasured(value=number)
        why = violation(value, self.expect)
        if why is not None:
            return ProbeResult.failure(
                FailureReason.THRESHOLD, f"{self.oid} = {why}", latency, measured
            )
        return ProbeResult.success(latency, f"{self.oid} = {value!r}", measured)

    async def _walk(self, deadline: float) -> ProbeResult:
        table, latency = await self.client.walk(
            self.endpoint,
            [self.oid],
            deadline,
            max_repetitions=self.max_repetitions,
            max_rows=self.max_rows,
        )
        n, problems = evaluate_rows(table[self.oid], self.expect)
        measured = SnmpOidMeasured(rows=n)
        if problems:
            return ProbeResult.failure(
                FailureReason.THRESHOLD,
                f"{self.oid}: " + "; ".join(problems),
                latency,
                measured,
            )
        return ProbeResult.success(latency, f"{self.oid}: {n} row(s) as expected", measured)
