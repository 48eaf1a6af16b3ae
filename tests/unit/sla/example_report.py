"""One VIOMS-style month with every timeline state, for the HTML report tests and docs.

October 2026 (745 h, clocks back on the 25th), VIOMS telephony 99.6 % per
month with the weekend service window Sat and Sun 01:00-05:00 excluded:
- 6 Oct 10:00-12:30 CEST: 2.5 h down (sbc1 timeout), counts;
- 13 Oct 14:00-14:05: a 5-minute blip (status_not_accepted), counts;
- 18 Oct 02:00-03:00 (Sunday, inside the window): planned down, excluded;
- 21 Oct 03:00-09:00: the daemon was not running (unmonitored, counted as up);
- 27 Oct 20:00-23:30 CET: 3.5 h down (refused), counts.
"""

from __future__ import annotations

from datetime import UTC, datetime

from monitord.sla.availability import Downtime, Gap
from monitord.sla.config import MaintenanceConfig, RecurringWindow, SlaPolicy
from monitord.sla.engine import SlaSetup, compute, period_for
from monitord.sla.report import Report


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def example_report() -> Report:
    policy = SlaPolicy.model_validate(
        {
            "name": "vioms-telephony",
            "version": "2026-1",
            "target_percent": "99.6",
            "credits": {
                "type": "linear",
                "threshold_percent": "99.6",
                "percent_per_step": 5,
                "cap_percent": 60,
            },
        }
    )
    setup = SlaSetup(
        policies={policy.name: policy},
        maintenance=MaintenanceConfig(
            recurring=[
                RecurringWindow.model_validate(
                    {"name": "vioms-service-window", "weekly": ["sat,sun 01:00-05:00"]}
                )
            ]
        ),
    )
    downs = [
        Downtime(_t("2026-10-06T10:00:00+02:00"), _t("2026-10-06T12:30:00+02:00"), reason="timeout: sbc1 no answer"),
        Downtime(_t("2026-10-13T14:00:00+02:00"), _t("2026-10-13T14:05:00+02:00"), reason="status_not_accepted: 503"),
        Downtime(_t("2026-10-18T02:00:00+02:00"), _t("2026-10-18T03:00:00+02:00"), reason="planned upgrade"),
        Downtime(_t("2026-10-27T20:00:00+01:00"), _t("2026-10-27T23:30:00+01:00"), reason="refused"),
    ]
    gaps = [Gap(_t("2026-10-21T03:00:00+02:00"), _t("2026-10-21T09:00:00+02:00"), "unclean_shutdown")]
    return compute(
        setup,
        service="vioms-telephony",
        policy=policy,
        period=period_for(policy, "2026-10"),
        now=_t("2026-11-05T00:00:00+00:00"),
        downtimes=downs,
        gaps=gaps,
    )
