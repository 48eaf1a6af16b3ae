"""The per-check series, kept as plain numbers and rendered straight to text.

Why not prometheus_client's labelled children: at 10,000 checks a scrape is
~150,000 samples. Its generic path (a Sample tuple and a label dict per
sample, escaping and sorting at every scrape) cost ~10 µs a sample, a second
and a half of CPU per scrape holding the GIL, and each child (a lock per
value) cost ~15 KiB of memory per check. Here each check is one slotted
record of numbers, its label text is escaped once when it is declared, and a
scrape is one f-string per sample (`exposition`). `collect()` parses that same
text back into families for generic readers (tests, `get_sample_value`), so
there is one rendering and nothing to keep in step.

What is per check and what is per type (issue 14): a duration histogram per
check was half of every scrape and nothing read it; like blackbox_exporter,
each check exposes its last probe's duration as a gauge and the summed seconds
as a counter (`rate(monitord_check_probe_seconds_total[5m]) /
rate(monitord_probes_total[5m])` is its mean), and the histogram
`monitord_probe_duration_seconds` is kept per probe type for quantiles.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from monitord.core.events import CheckState

__all__ = ["CheckSeries", "CheckSeriesCollector", "FastHistogram", "go_float", "label_text"]

_STATES = tuple(CheckState)
# for each current state, the tail of each state's line (all four lines of a check)
_STATE_TAILS = {current: tuple(f'state="{state.value}"}} {1.0 if state is current else 0.0}\n'
                               for state in _STATES) for current in _STATES}


def escape(value: str) -> str:
    """A label value as the text format wants it (backslash, quote, newline escaped)."""
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def label_text(labels: Iterable[tuple[str, str]]) -> str:
    """`a="1",b="2"`, names sorted (as prometheus_client prints them)."""
    return ",".join(f'{k}="{escape(v)}"' for k, v in sorted(labels))


def go_float(value: float) -> str:
    """A sample value as Prometheus parses it (`+Inf`, `NaN`, else Python's repr)."""
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def _check_label(name: str) -> str:
    return f'check="{escape(name)}"'


def _bound(value: float) -> str:
    return "+Inf" if value == math.inf else repr(float(value))


class FastHistogram:
    """A histogram's counts without locks (written on the loop only, read by the scrape)."""

    __slots__ = ("bounds", "count", "counts", "sum")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)  # the last one is +Inf only
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.count += 1
        self.sum += value

    def lines(self, name: str, labels: str) -> list[str]:
        """The `_bucket`, `_sum` and `_count` samples; `labels` ends with a comma or is ''."""
        counts = list(self.counts)
        out = []
        running = 0
        for bound, n in zip((*self.bounds, math.inf), counts, strict=True):
            running += n
            out.append(f'{name}_bucket{{{labels}le="{_bound(bound)}"}} {float(running)}\n')
        total = labels.rstrip(",")
        braces = f"{{{total}}}" if total else ""
        out.append(f"{name}_sum{braces} {go_float(self.sum)}\n")
        out.append(f"{name}_count{braces} {float(running)}\n")
        return out


class CheckSeries:
    """One check's numbers; `probe_done` writes them on the loop, a scrape reads them."""

    __slots__ = ("alerting", "by_check", "check", "consecutive", "errors", "failed",
                 "failures", "inconclusive", "kind", "last_duration", "ok", "responses",
                 "seconds", "skipped", "state", "success", "type_label")

    def __init__(self, check: str, kind: str) -> None:
        self.check, self.kind = check, kind
        self.by_check = f'check="{escape(check)}"'  # label text, escaped once
        self.type_label = f'type="{escape(kind)}"'
        self.success = 0.0
        self.ok = self.failed = self.inconclusive = 0
        self.seconds = 0.0
        self.last_duration = -1.0  # no probe yet
        self.consecutive = 0
        self.state = CheckState.UP
        self.alerting = 0
        self.failures: dict[str, int] = {}  # reason -> count
        self.responses: dict[int, int] = {}  # SIP status code -> count (text when rendered)
        self.skipped = 0
        self.errors = 0


def _family(out: list[str], name: str, kind: str, help_text: str) -> None:
    out.append(f"# HELP {name} {help_text}\n# TYPE {name} {kind}\n")


class CheckSeriesCollector(Collector):
    """Every check's series, plus the per-type probe duration and lateness histograms."""

    def __init__(self, probe_buckets: Sequence[float], lateness_buckets: Sequence[float],
                 lock: threading.Lock, downtime: Callable[[], Sequence[tuple[str, float]]]
                 ) -> None:
        self.series: dict[str, CheckSeries] = {}
        self.histograms: dict[str, FastHistogram] = {}  # probe duration by probe type
        self.lateness = FastHistogram(lateness_buckets)
        self._probe_buckets = tuple(probe_buckets)
        self._lock = lock
        self._downtime = downtime  # (check, seconds) now, read under the metrics lock

    def histogram(self, kind: str) -> FastHistogram:
        found = self.histograms.get(kind)
        if found is None:
            found = self.histograms[kind] = FastHistogram(self._probe_buckets)
        return found

    def exposition(self, labels: str) -> str:
        """The text of every family here; `labels` (e.g. `site="ams"`) goes on each sample.

        Label names come out sorted when the constant labels sort between a family's
        own (as `site` does), the way prometheus_client prints them."""
        series = list(self.series.values())
        tail = f",{labels}}}" if labels else "}"
        mid = f",{labels}," if labels else ","
        out: list[str] = []
        _family(out, "monitord_probe_success", "gauge", "1 if the last probe succeeded.")
        out += [f"monitord_probe_success{{{s.by_check}{mid}{s.type_label}}} {s.success}\n"
                for s in series]
        _family(out, "monitord_check_probe_duration_seconds", "gauge",
                "Duration of the check's last probe, success or not (none before the first).")
        out += [f"monitord_check_probe_duration_seconds{{{s.by_check}{mid}{s.type_label}}}"
                f" {s.last_duration}\n" for s in series if s.last_duration >= 0.0]
        _family(out, "monitord_check_probe_seconds_total", "counter",
                "Seconds spent in the check's probes; divided by the rate of monitord_probes_total"
                " it is the mean probe duration.")
        out += [f"monitord_check_probe_seconds_total{{{s.by_check}{mid}{s.type_label}}}"
                f" {s.seconds}\n" for s in series]
        _family(out, "monitord_probes_total", "counter", "Probes run, by result.")
        for s in series:
            p = f"monitord_probes_total{{{s.by_check},result="
            q = f"{mid}{s.type_label}}}"
            out.append(f'{p}"success"{q} {s.ok}.0\n{p}"failure"{q} {s.failed}.0\n'
                       f'{p}"inconclusive"{q} {s.inconclusive}.0\n')
        _family(out, "monitord_probe_failures_total", "counter", "Failed probes, by reason.")
        out += [f'monitord_probe_failures_total{{{s.by_check},reason="{escape(reason)}"{tail}'
                f" {n}.0\n" for s in series for reason, n in list(s.failures.items())]
        _family(out, "monitord_sip_responses_total", "counter",
                "Final SIP responses, by status code.")
        out += [f'monitord_sip_responses_total{{{s.by_check},code="{code}"{tail} {n}.0\n'
                for s in series for code, n in list(s.responses.items())]
        _family(out, "monitord_check_consecutive_failures", "gauge", "Failed probes in a row.")
        out += [f"monitord_check_consecutive_failures{{{s.by_check}{tail} {s.consecutive}.0\n"
                for s in series]
        _family(out, "monitord_check_state", "gauge", "1 for the check's current state.")
        for s in series:
            p = f"monitord_check_state{{{s.by_check}{mid}"
            a, b, c, d = _STATE_TAILS[s.state]
            out.append(f"{p}{a}{p}{b}{p}{c}{p}{d}")
        _family(out, "monitord_check_alerting", "gauge", "1 while the check's alert is raised.")
        out += [f"monitord_check_alerting{{{s.by_check}{tail} {s.alerting}.0\n" for s in series]
        _family(out, "monitord_scheduler_skipped_slots_total", "counter",
                "Slots skipped because the check's previous probe was still running or the loop"
                " was late.")
        out += [f"monitord_scheduler_skipped_slots_total{{{s.by_check}{tail} {s.skipped}.0\n"
                for s in series if s.skipped]
        _family(out, "monitord_internal_errors_total", "counter",
                "Unexpected errors while running a check.")
        out += [f"monitord_internal_errors_total{{{s.by_check}{tail} {s.errors}.0\n"
                for s in series if s.errors]
        with self._lock:
            downtime = self._downtime()
        _family(out, "monitord_check_downtime_seconds_total", "counter",
                "Seconds of recorded check downtime (open intervals included, backdated to the"
                " first failed probe).")
        by_check = self.series
        out += [f"monitord_check_downtime_seconds_total{{"
                f"{k.by_check if (k := by_check.get(name)) else _check_label(name)}{tail}"
                f" {seconds}\n" for name, seconds in downtime]
        _family(out, "monitord_probe_duration_seconds", "histogram",
                "Probe duration by probe type, success or not (per check: the last duration"
                " and the summed seconds).")
        for kind, hist in sorted(self.histograms.items()):
            out += hist.lines("monitord_probe_duration_seconds", f'{labels},type="{escape(kind)}",'
                              if labels else f'type="{escape(kind)}",')
        _family(out, "monitord_scheduler_lateness_seconds", "histogram",
                "How late probes started after their slot (queueing for concurrency included).")
        out += self.lateness.lines("monitord_scheduler_lateness_seconds",
                                   f"{labels}," if labels else "")
        return "".join(out)

    def collect(self) -> Iterable[Metric]:
        """The same families, parsed back from `exposition` (for generic readers only)."""
        return list(text_string_to_metric_families(self.exposition("")))

    def describe(self) -> Iterable[Metric]:
        return []
