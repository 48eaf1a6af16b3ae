"""Labels every series carries, and the info series dashboards and rules join on.

Why constant labels in the daemon and not only in the scrape config: the
daemon knows its `site` and puts it on the alerts it pushes, and
Alertmanager's inhibition and silences match alerts on `site`; the scraped
series must carry the very same value. So, like client_golang's
`WrapRegistererWith`, the registry adds `site` (and whatever deployment
labels come next, e.g. `location`) to every sample at exposition time. The
scrape config then must not set `site` as a target label (that is what
produced `exported_site`); deploy/prometheus/prometheus.yml says so.

Info series (value 1, labels are the payload), for `group_left`/`and` joins:
- `monitord_check_info{check, type, target, service, <check labels>}`: one
  series per (check, service) pair (`service=""` for a check in none). Join
  per check with the info on the "many" side, e.g.
  `rate(monitord_probes_total[5m]) * on(site, check) group_right monitord_check_info`.
- `monitord_service_info{service, down_when, <labels all its checks share>}`:
  one per service; `monitord_service_info and on(site, service)
  (monitord_service_up == 0)` is a down service with those labels.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from monitord.config.load import EffectiveCheck
from monitord.config.models import ServiceConfig
from monitord.core.reboots import device_of
from monitord.core.stream import Committed, Reconfigured

__all__ = [
    "RESERVED_LABELS",
    "ConstantLabelRegistry",
    "InfoCollector",
    "check_target",
    "common_labels",
    "prometheus_labels",
]

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# Set by the daemon itself; a check's own `labels` cannot override them.
RESERVED_LABELS = frozenset({"alertname", "site", "location", "check", "service", "type",
                             "target", "instance", "job", "severity", "priority", "down_when"})


class ConstantLabelRegistry(CollectorRegistry):
    """A registry whose exposition adds the same labels to every sample.

    Collectors registered here never name these labels themselves; if one
    did, the constant value wins, so the documented `site` is always the
    daemon's. Reading a value back with `get_sample_value` needs them too.
    """

    def __init__(self, labels: Mapping[str, str]) -> None:
        super().__init__(auto_describe=True)
        for name in labels:
            if not _LABEL_NAME.match(name) or name.startswith("__"):
                raise ValueError(f"invalid constant label name {name!r}")
        self.constant_labels = dict(labels)

    def collect(self) -> Iterable[Metric]:
        """The samples' label dicts are updated in place: collectors build them for each
        scrape (or, for a cached family, get the same constant value again), and copying
        every sample instead made a 50,000-line scrape a quarter slower."""
        const = self.constant_labels
        for metric in super().collect():
            for sample in metric.samples:
                sample.labels.update(const)
            yield metric


def prometheus_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """A check's `labels` that can be Prometheus/Alertmanager labels (valid, not reserved)."""
    return {k: v for k, v in labels.items()
            if _LABEL_NAME.match(k) and not k.startswith("__") and k not in RESERVED_LABELS}


def check_target(check: EffectiveCheck) -> str:
    """What a check probes, without credentials: the SIP URI, or the SNMP agent."""
    device = device_of(check)
    if device is not None:
        return device
    target = getattr(check.config, "target", "")
    return target if isinstance(target, str) else ""


def common_labels(checks: Sequence[EffectiveCheck]) -> dict[str, str]:
    """The labels every one of `checks` carries with the same value."""
    if not checks:
        return {}
    first = prometheus_labels(checks[0].config.labels)
    return {k: v for k, v in first.items()
            if all(prometheus_labels(c.config.labels).get(k) == v for c in checks[1:])}


class InfoCollector(Collector):
    """`monitord_check_info` and `monitord_service_info`, built from the config (again after
    a reload: it is a sink of the `Reconfigured` event)."""

    def __init__(self, checks: Sequence[EffectiveCheck], services: Sequence[ServiceConfig]) -> None:
        self._build(checks, services)

    def consume(self, c: Committed) -> None:
        for ev in c.events:
            if isinstance(ev, Reconfigured):
                self._build(ev.checks, ev.services)

    def _build(self, checks: Sequence[EffectiveCheck], services: Sequence[ServiceConfig]) -> None:
        by_name = {c.name: c for c in checks}
        services_of: dict[str, list[str]] = {}
        for svc in services:
            for name in svc.checks:
                services_of.setdefault(name, []).append(svc.name)
        own = {c.name: prometheus_labels(c.config.labels) for c in checks}
        extra = sorted({k for labels in own.values() for k in labels})
        check_info = GaugeMetricFamily(
            "monitord_check_info",
            "1 per (check, service): what the check probes and its own labels, for joins.",
            labels=["check", "type", "target", "service", *extra],
        )
        for c in checks:
            for service in services_of.get(c.name) or [""]:
                check_info.add_metric(
                    [c.name, c.type, check_target(c), service,
                     *(own[c.name].get(k, "") for k in extra)], 1)
        shared = {s.name: common_labels([by_name[n] for n in s.checks if n in by_name])
                  for s in services}
        extra_svc = sorted({k for labels in shared.values() for k in labels})
        service_info = GaugeMetricFamily(
            "monitord_service_info",
            "1 per service: its down_when rule and the labels all its checks share, for joins.",
            labels=["service", "down_when", *extra_svc],
        )
        for s in services:
            rule = s.down_when if isinstance(s.down_when, str) else f"at_least_{s.down_when.at_least}"
            service_info.add_metric(
                [s.name, rule, *(shared[s.name].get(k, "") for k in extra_svc)], 1)
        self._families: tuple[Metric, ...] = (check_info, service_info)  # one assignment: a scrape sees old or new, whole

    def collect(self) -> Iterable[Metric]:
        return list(self._families)

    def describe(self) -> Iterable[Metric]:
        return list(self._families)
