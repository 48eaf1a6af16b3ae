"""A compact, exact digest of fleet reports: what "identical to before" is checked against.

Why a digest: the full reports of the sample are megabytes (every maintenance
occurrence, every timeline band). Kept in clear: every figure an SLA manager
argues over, availability and credit as exact fractions ("to the second and
to the credit"); kept as a SHA-256: the interval list, the monthly trend and
the timeline, over exactly the fields the engine had when the snapshot was
taken (fields added later do not change the hash).

`fixtures/fleet_before.json` was written by `python -m tests.unit.sla.fleetdigest`
with the engine as it was before issue 18 (commit 4d7d78d); it is a record,
not something to regenerate.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from monitord.sla.availability import Downtime, Gap
from monitord.sla.engine import SlaSetup
from tests.unit.sla.fleet import NOW, fleet

Inputs = tuple[SlaSetup, dict[str, str], list[tuple[str, Downtime]], list[tuple[str | None, Gap]]]

SNAPSHOT = Path(__file__).parent / "fixtures" / "fleet_before.json"
SAMPLE_SIZE = 60
# (label, period spec, now): complete months around both DST changes, and one still running
SCENARIOS: tuple[tuple[str, str, str], ...] = (
    ("nov", "2026-11", NOW),
    ("mar", "2026-03", NOW),
    ("oct", "2026-10", NOW),
    ("running", "2026-11", "2026-11-17T12:34:56.789012+00:00"),
)
FIGURES = (
    "service", "policy", "period", "period_start", "period_end", "as_of", "complete",
    "period_seconds", "measured_seconds", "maintenance_seconds", "downtime_seconds",
    "downtime_by_priority", "downtime_user_seconds", "unmonitored_seconds", "target_percent",
    "availability_met", "met", "error_budget_seconds", "interruptions", "max_interruptions",
    "interruptions_met",
)
INTERVAL_FIELDS = (
    "kind", "start", "end", "seconds", "counted_seconds", "priority", "reason", "reports",
    "users", "note",
)


def _exact(value: Fraction) -> str:
    f = Fraction(value)
    return f"{f.numerator}/{f.denominator}"


def _hash(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def digest(report: Any, as_dict: dict[str, Any]) -> dict[str, Any]:
    """`report` (the Report) and `as_dict` (its JSON rendering) -> the digest."""
    out = {k: as_dict[k] for k in FIGURES}
    out["availability"] = _exact(report.availability)
    out["availability_decided"] = _exact(report.availability_decided)
    out["credit"] = _exact(report.credit_percent)
    oh = report.outside_hours
    out["outside"] = None if oh is None else {
        "measured_seconds": oh.measured_seconds, "maintenance_seconds": oh.maintenance_seconds,
        "downtime_seconds": oh.downtime_seconds, "unmonitored_seconds": oh.unmonitored_seconds,
        "availability": _exact(oh.availability), "met": oh.met,
    }
    out["months"] = [
        [m.start.isoformat(), m.end.isoformat(), m.measured_seconds, m.downtime_seconds,
         _exact(m.availability)]
        for m in report.months
    ]
    rows = [{k: row[k] for k in INTERVAL_FIELDS} for row in as_dict["intervals"]]
    out["intervals_sha256"] = _hash(rows)
    out["intervals_count"] = len(rows)
    out["counted_seconds_sum"] = round(sum(r["counted_seconds"] for r in rows), 6)
    out["timeline_sha256"] = _hash(
        [[b.start.isoformat(), b.end.isoformat(), b.state] for b in report.timeline]
    )
    return out


def sample_inputs() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    f = fleet(SAMPLE_SIZE)
    return f.config, f.intervals


def write_inputs(directory: Path) -> tuple[Path, Path]:
    config, intervals = sample_inputs()
    cfg, ivs = directory / "fleet.yaml", directory / "fleet.json"
    cfg.write_text(yaml.safe_dump(config), encoding="utf-8")
    ivs.write_text(json.dumps(intervals), encoding="utf-8")
    return cfg, ivs


def loaded_sample() -> Inputs:
    """The sample fleet as `monitord sla compute` reads it: setup, each service's policy,
    downtimes and gaps (through the config loader and the intervals reader)."""
    from monitord.cli.sla import read_intervals
    from monitord.config import load_config

    with tempfile.TemporaryDirectory() as tmp:
        cfg_path, ivs_path = write_inputs(Path(tmp))
        cfg = load_config(cfg_path)
        downs, gaps = read_intervals(str(ivs_path))
    setup = SlaSetup(
        {p.name: p for p in cfg.sla_policies}, {c.name: c for c in cfg.calendars}, cfg.maintenance
    )
    policies = {s.name: s.sla_policy for s in cfg.services if s.sla_policy}
    return setup, policies, downs, gaps


def old_digests() -> Iterator[tuple[str, dict[str, Any]]]:
    """The digests as the engine of commit 4d7d78d computed them (its API, called per service)."""
    from monitord.cli.sla import read_intervals
    from monitord.config import load_config
    from monitord.sla.engine import SlaSetup, compute, period_for
    from monitord.sla.render import report_to_dict

    with tempfile.TemporaryDirectory() as tmp:
        cfg_path, ivs_path = write_inputs(Path(tmp))
        cfg = load_config(cfg_path)
        downs, gaps = read_intervals(str(ivs_path))
    setup = SlaSetup({p.name: p for p in cfg.sla_policies}, {c.name: c for c in cfg.calendars},
                     cfg.maintenance)
    for label, spec, now in SCENARIOS:
        for svc in cfg.services:
            assert svc.sla_policy is not None
            policy = setup.policy(svc.sla_policy)
            report = compute(
                setup, service=svc.name, policy=policy, period=period_for(policy, spec),
                now=datetime.fromisoformat(now),
                downtimes=[d for s, d in downs if s == svc.name],
                gaps=[g for s, g in gaps if s in (None, svc.name)],
            )
            yield f"{label}/{svc.name}", digest(report, report_to_dict(report))


if __name__ == "__main__":  # pragma: no cover - writes the record once
    data = dict(old_digests())
    SNAPSHOT.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(data)} digests -> {SNAPSHOT}", file=sys.stderr)
