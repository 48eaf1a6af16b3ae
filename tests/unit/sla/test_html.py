"""The HTML report is self-contained and shows every figure and timeline state."""

from __future__ import annotations

import re
from xml.etree import ElementTree

from monitord.sla.html import COLOURS, duration, pct, render_html
from tests.unit.sla.example_report import example_report


def test_page_is_self_contained_and_has_the_figures() -> None:
    r = example_report()
    page = render_html([r])
    # no external asset: nothing fetched, nothing scripted
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "<script" not in page and "@import" not in page and "url(" not in page
    for text in ("vioms-telephony", "2026-1", "target 99.6000 %", "NOT met", "overrun", "unclean_shutdown"):
        assert text in page, text
    # 2.5 h + 5 min + 3.5 h = 9,000 + 300 + 12,600 = 21,900 s counted; the Sunday hour is planned
    assert r.downtime_seconds == 21_900
    assert duration(21_900) == "6h 05m 0s" and "6h 05m 0s" in page
    assert "sbc1 no answer" in page and "planned upgrade" in page


def test_timeline_draws_every_state_in_its_colour() -> None:
    page = render_html([example_report()])
    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert len(svgs) == 2  # overview band and one row per local day
    for svg in svgs:
        ElementTree.fromstring(svg)  # well-formed
    fills = set(re.findall(r'fill="(#[0-9a-f]{6})"', svgs[0]))
    for state in ("up", "down", "maintenance", "planned_down", "unmonitored"):
        assert COLOURS[state] in fills, state
    # October 2026 in Amsterdam: 31 day rows, and a tick on every real hour: 745 of them
    # (the 25th has 25), the longer ones on 00, 06, 12 and 18 local time
    assert svgs[1].count("scale(") == 31
    assert svgs[1].count('vector-effect="non-scaling-stroke"') == 745
    assert svgs[1].count('stroke="#555"') == 31 * 4  # 25 Oct has 02:00 twice, not 06:00


def test_percent_display_never_rounds_a_miss_up() -> None:
    from fractions import Fraction

    assert pct(Fraction(9_999_996, 100_000)) == "99.9999 %"
    assert pct(Fraction(99_899_996, 1_000_000)) == "99.8999 %"
    assert duration(-90.5) == "-1m 30.5s"
    assert duration(90_061) == "1d 1h 01m 1s"
