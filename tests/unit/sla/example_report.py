"""One VIOMS-style month with every timeline state, for the HTML report tests and docs.

October 2026 (745 h, clocks back on the 25th), VIOMS telephony 99.6 % per
month with the weekend service window Sat and Sun 01:00-05:00 excluded:
- 6 Oct 10:00-12:30 CEST: 2.5 h down (sbc1 timeout), counts;
- 13 Oct 14:00-14:05: a 5-minute blip (status_not_accepted), counts;
- 18 Oct 02:00-03:00 (Sunday, inside the window): planned down, excluded;
- 21 Oct 03:00-09:00: the daemon was not running (unmonitored: left out, and reported);
- 27 Oct 20:00-23:30 CET: 3.5 h down (refused), counts.
"""

from __future__ import annotations

from datetime import UTC, datetime

from monitord.sla.availability import Downtime, Gap
from monitord.sla.config import MaintenanceConfig, RecurringWindow, SlaPolicy
from monitord.sla.engine import SlaSetup, compute, period_for
from monitord.sla.report import Report
from monitord.sla.review import ReviewFold


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


SERVICE = "vioms-telephony"
NOT_RUNNING = Gap(_t("2026-10-21T03:00:00+02:00"), _t("2026-10-21T09:00:00+02:00"),
                  "unclean_shutdown")


def _october(policy: SlaPolicy, downtimes: list[Downtime], review: ReviewFold | None = None,
             customers: dict[str, str] | None = None) -> Report:
    """The month's report under the weekend service window, as of 5 November."""
    setup = SlaSetup(
        policies={policy.name: policy},
        maintenance=MaintenanceConfig(
            recurring=[RecurringWindow.model_validate(
                {"name": "vioms-service-window", "weekly": ["sat,sun 01:00-05:00"]})]
        ),
        customers=customers or {},
    )
    return compute(
        setup, service=SERVICE, policy=policy, period=period_for(policy, "2026-10"),
        now=_t("2026-11-05T00:00:00+00:00"), downtimes=downtimes, gaps=[NOT_RUNNING],
        review=review,
    )


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
    downs = [
        Downtime(_t("2026-10-06T10:00:00+02:00"), _t("2026-10-06T12:30:00+02:00"), reason="timeout: sbc1 no answer"),
        Downtime(_t("2026-10-13T14:00:00+02:00"), _t("2026-10-13T14:05:00+02:00"), reason="status_not_accepted: 503"),
        Downtime(_t("2026-10-18T02:00:00+02:00"), _t("2026-10-18T03:00:00+02:00"), reason="planned upgrade"),
        Downtime(_t("2026-10-27T20:00:00+01:00"), _t("2026-10-27T23:30:00+01:00"), reason="refused"),
    ]
    return _october(policy, downs)


def desk_report() -> Report:
    """The same month as the SLA manager sends it: customer, contract, incidents with evidence,
    tickets and a review, restore targets (P1 90 % within 4 h, 100 % within 8 h, §9 credit)."""
    from datetime import timedelta

    from monitord.sla.review import fold
    from monitord.storage.records import ReviewRecord

    base = example_report()
    policy = SlaPolicy.model_validate(
        {
            "name": "vioms-telephony",
            "version": "2026-1",
            "contract": "VIOMS Telefonie SLA A",
            "target_percent": "99.6",
            "credits": {"type": "linear", "threshold_percent": "99.6", "percent_per_step": 5,
                        "cap_percent": 60},
            "restore": {
                "targets": [{"priority": "P1", "within": "4h", "share_percent": 90},
                            {"priority": "P1", "within": "8h", "share_percent": 100}],
                "credit": {"priority": "P1", "over": "8h", "credit_percent": 100},
            },
        }
    )
    evidence = (("evidence", "no answer from 192.0.2.10:5060 after 500 ms"),
                ("checks", "sbc1-options, sbc2-options"))
    downs = [d._replace(source=f"store:{i + 1}", extra=evidence if i == 0 else ())
             for i, d in enumerate(base.detail.downtimes)]
    at = _t("2026-11-02T09:30:00+01:00")
    review = fold([
        ReviewRecord(1, at, "alice", "vioms-telephony", "ticket", ("store:1",), value="INC-4711"),
        ReviewRecord(2, at + timedelta(minutes=5), "alice", "vioms-telephony", "note",
                     ("store:1",), value="SBC firmware bug, vendor case 88123"),
        ReviewRecord(3, at + timedelta(minutes=9), "bob", "vioms-telephony", "reclassify",
                     ("store:2",), value="P3", reason="a 5-minute blip of one trunk"),
    ])
    return _october(policy, downs, review, customers={SERVICE: "Gemeente Noord"})
