"""Public holidays come from one country's module of `holidays`, loaded on its own.

`_country_class` loads the module the package's registry names without the
package `holidays.countries` (which imports every country); the dates must
be what `holidays.country_holidays` gives, subdivisions included.
"""

from __future__ import annotations

import holidays
import pytest

from monitord.sla.calendars import _country_class, _holiday_dates

CASES = [
    ("NL", None), ("BE", None), ("DE", "BY"), ("DE", None), ("GB", "SCT"), ("US", "CA"),
    ("FR", None), ("AT", None), ("CH", "ZH"), ("ES", "CT"),
]


@pytest.mark.parametrize(("country", "subdivision"), CASES)
def test_holiday_dates_are_the_packages(country: str, subdivision: str | None) -> None:
    years = (2024, 2025, 2026, 2027)
    expected = holidays.country_holidays(country, subdiv=subdivision, years=years)
    assert _holiday_dates(country, subdivision, years) == frozenset(expected.keys())


def test_the_country_class_is_loaded_on_its_own() -> None:
    from holidays.countries import netherlands  # the package's copy, for comparison

    loaded = _country_class("NL")
    assert loaded is not netherlands.NL  # its own module: not the package's lazy loader
    assert loaded.__name__ == "NL" and loaded.__module__ == netherlands.__name__


def test_an_unknown_subdivision_is_refused_as_the_package_refuses_it() -> None:
    with pytest.raises(NotImplementedError) as ours:
        _holiday_dates("NL", "XX", (2026,))
    with pytest.raises(NotImplementedError) as theirs:
        holidays.country_holidays("NL", subdiv="XX", years=(2026,))
    assert str(ours.value) == str(theirs.value)
