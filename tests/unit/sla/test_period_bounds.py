"""Any period a user can type either resolves or is an SlaError naming it (issue 12 item 9:
`period=9999-12` and `0001-01` were 500s from date arithmetic past year 9999 / before year 1)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitord.errors import SlaError
from monitord.sla.periods import MAX_YEAR, MIN_YEAR, resolve_period

KINDS = ["month", "year", "contract_year", "rolling_12_months"]
specs = st.one_of(
    st.from_regex(r"[0-9]{4}(-[0-9]{2})?", fullmatch=True),
    st.text(max_size=12),
    st.sampled_from(["9999-12", "0001-01", "9999", "0001", f"{MAX_YEAR}-12", f"{MIN_YEAR}-01"]),
)


@given(
    kind=st.sampled_from(KINDS),
    spec=specs,
    contract_start=st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
    timezone=st.sampled_from(["Europe/Amsterdam", "Pacific/Kiritimati", "Pacific/Pago_Pago"]),
)
def test_a_period_resolves_or_is_an_sla_error(
    kind: str, spec: str, contract_start: date, timezone: str
) -> None:
    try:
        period = resolve_period(kind, spec, timezone=timezone,  # type: ignore[arg-type]
                                contract_start=contract_start)
    except SlaError as exc:
        assert repr(spec) in str(exc) or "contract_start" in str(exc)
        return
    assert period.start < period.end


@pytest.mark.parametrize("spec", ["9999-12", "0001-01", "9999", "0001", "1969-12"])
def test_years_outside_the_record_are_refused_by_name(spec: str) -> None:
    with pytest.raises(SlaError, match=f"invalid period '{spec}': the year must be 1970..9998"):
        resolve_period("month" if "-" in spec else "year", spec)


def test_the_edge_years_still_resolve() -> None:
    for kind in KINDS:
        for spec in (f"{MIN_YEAR}-01", f"{MAX_YEAR}-12"):
            p = resolve_period(kind, spec, contract_start=date(2025, 3, 15))  # type: ignore[arg-type]
            assert p.start < p.end
