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
from typing import Protocol, cast

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from monitord.config.load import EffectiveCheck
from monitord.config.models import ServiceConfig
from monitord.core.reboots import device_of
from monitord.core.stream import Committed, Reconfigured
from monitord.sinks.checkseries import escape, label_text

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


class TextCollector(Protocol):
    """A collector that renders its own exposition text (thousands of series, cheaply)."""

    def exposition(self, labels: str) -> str:
        """Its families as text, `labels` (`a="1",b="2"` or '') on every sample."""
        ...


class ConstantLabelRegistry(CollectorRegistry):
    """A registry whose exposition adds the same labels to every sample.

    Collectors registered here never name these labels themselves; if one
    did, the constant value wins, so the documented `site` is always the
    daemon's. Reading a value back with `get_sample_value` needs them too.

    `render` is the /metrics body: collectors with an `exposition` method
    (per-check series, the info series) write their own text; the few others
    go through prometheus_client's generic path.
    """

    def __init__(self, labels: Mapping[str, str]) -> None:
        super().__init__(auto_describe=True)
        for name in labels:
            if not _LABEL_NAME.match(name) or name.startswith("__"):
                raise ValueError(f"invalid constant label name {name!r}")
        self.constant_labels = dict(labels)
        self._order: list[Collector] = []  # registration order, for `render`

    def register(self, collector: Collector) -> None:
        super().register(collector)
        self._order.append(collector)

    def unregister(self, collector: Collector) -> None:
        super().unregister(collector)
        self._order = [c for c in self._order if c is not collector]

    def render(self, extra: Mapping[str, str]) -> bytes:
        """The exposition with `extra` labels too (a sample's own and constant labels win)."""
        added = {k: v for k, v in extra.items() if k not in self.constant_labels}
        text = label_text({**added, **self.constant_labels}.items())
        generic = _Generic([c for c in list(self._order) if not hasattr(c, "exposition")],
                           self.constant_labels, added)
        parts = [generate_latest(generic).decode("utf-8")]
        parts += [cast(TextCollector, c).exposition(text) for c in list(self._order)
                  if hasattr(c, "exposition")]
        return "".join(parts).encode("utf-8")

    def collect(self) -> Iterable[Metric]:
        """The samples' label dicts are updated in place: collectors build them for each
        scrape (or, for a cached family, get the same constant value again), and copying
        every sample instead made a 50,000-line scrape a quarter slower."""
        const = self.constant_labels
        for metric in super().collect():
            for sample in metric.samples:
                sample.labels.update(const)
            yield metric


class _Generic(Collector):
    """Collectors through prometheus_client's path, with the constant labels added."""

    def __init__(self, collectors: Sequence[Collector], const: Mapping[str, str],
                 added: Mapping[str, str]) -> None:
        self._collectors, self._const, self._added = collectors, const, added

    def collect(self) -> Iterable[Metric]:
        for collector in self._collectors:
            for metric in collector.collect():
                for sample in metric.samples:
                    for k, v in self._added.items():  # a sample's own label wins over these
                        sample.labels.setdefault(k, v)
                    sample.labels.update(self._const)
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

    QUIET = False  # reads Reconfigured events only

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
        check_rows = [
            _row({"check": c.name, "type": c.type, "target": check_target(c), "service": service,
                  **{k: own[c.name].get(k, "") for k in extra}})
            for c in checks for service in services_of.get(c.name) or [""]]
        shared = {s.name: common_labels([by_name[n] for n in s.checks if n in by_name])
                  for s in services}
        extra_svc = sorted({k for labels in shared.values() for k in labels})
        service_rows = []
        for s in services:
            rule = s.down_when if isinstance(s.down_when, str) else f"at_least_{s.down_when.at_least}"
            service_rows.append(_row({"service": s.name, "down_when": rule,
                                      **{k: shared[s.name].get(k, "") for k in extra_svc}}))
        # one assignment: a scrape sees old or new, whole
        self._rows: tuple[list[str], list[str]] = (check_rows, service_rows)
        self._text: tuple[str, str] | None = None  # (labels, text) of the last render

    def exposition(self, labels: str) -> str:
        """Static between reloads: rendered once per label set, then reused."""
        cached = self._text
        if cached is not None and cached[0] == labels:
            return cached[1]
        check_rows, service_rows = self._rows
        tail = f",{labels}}} 1.0\n" if labels else "} 1.0\n"
        text = "".join([
            "# HELP monitord_check_info 1 per (check, service): what the check probes and its"
            " own labels, for joins.\n# TYPE monitord_check_info gauge\n",
            *[f"monitord_check_info{{{row}{tail}" for row in check_rows],
            "# HELP monitord_service_info 1 per service: its down_when rule and the labels all"
            " its checks share, for joins.\n# TYPE monitord_service_info gauge\n",
            *[f"monitord_service_info{{{row}{tail}" for row in service_rows],
        ])
        self._text = (labels, text)
        return text

    def collect(self) -> Iterable[Metric]:
        return list(text_string_to_metric_families(self.exposition("")))

    def describe(self) -> Iterable[Metric]:
        return list(self.collect())


def _row(labels: Mapping[str, str]) -> str:
    return ",".join(f'{k}="{escape(v)}"' for k, v in labels.items())
