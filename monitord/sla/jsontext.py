"""The compact JSON text of a fleet's reports, spliced from pieces encoded once.

Why: a rolling year's full report is a few hundred rows (maintenance
occurrences, timeline bands) per service, most of them the same objects in
every report of the fleet. Building a dict per row and handing it to
`json.dumps` costs more than the figures; here each shared row is encoded
once and its text reused, and the three lists are joined as text.

The result is byte for byte `json.dumps(report_to_dict(r), ensure_ascii=False)`
(tested on seeded fleets and on odd strings): the head is the report's dict
with `summary=True` and the incidents (the keys in that order), encoded by
`json` with the same settings. An interval row or band whose values have
their usual types is put together from `repr` of its numbers (a finite float
and an int are what `json` writes as `repr`) and `json`'s string encoder; any
other row is encoded by `json` itself. A list's items are joined with `, ` as
`json` joins them.
"""

from __future__ import annotations

import json
from datetime import datetime
from json.encoder import encode_basestring
from math import isfinite
from typing import Any

from monitord.sla.render import _incident, _interval, _ts, report_to_dict
from monitord.sla.report import Report, ReportInterval

_LISTS = '{head}, "intervals": [{intervals}], "timeline": [{timeline}]}}'


class FleetText:
    """Encodes reports one by one, remembering the text of rows reports share.

    The caches are keyed by `id` and keep what they are keyed by (`_kept`): an
    id stays its object's while the fleet's output is written.
    """

    __slots__ = ("_bands", "_encode", "_instants", "_kept", "_rows", "_same", "_states", "_times")

    def __init__(self) -> None:
        # what json.dumps(obj, ensure_ascii=False) builds for every call, built once
        self._encode = json.JSONEncoder(ensure_ascii=False).encode
        self._kept: list[object] = []
        self._rows: dict[int, str] = {}  # id(maintenance row) -> text
        self._same: dict[int, str] = {}  # id(band tuple) -> text
        self._bands: dict[tuple[int, int, str], str] = {}  # (id(start), id(end), state) -> text
        self._states: dict[str, str] = {}
        self._times: dict[int, str] = {}  # id(datetime in a kept band) -> text
        self._instants: dict[datetime, str] = {}  # an interval row's instant -> text

    def encode(self, r: Report) -> str:
        """`json.dumps(report_to_dict(r), ensure_ascii=False)`, faster."""
        rows, same = self._rows.get, self._same.get
        head = report_to_dict(r, summary=True)  # ends where the lists begin: incidents first
        head["incidents"] = [_incident(i) for i in r.incidents]
        return _LISTS.format(
            head=self._encode(head)[:-1],
            intervals=", ".join([rows(id(iv)) or self._interval(iv) for iv in r.intervals]),
            timeline=", ".join([same(id(b)) or self._band(b) for b in r.detail.timeline_rows()]),
        )

    def _time(self, t: datetime) -> str:
        """The JSON string of an instant; kept alive by the band that holds it."""
        text = self._times.get(id(t))
        if text is None:
            text = self._times[id(t)] = encode_basestring(_ts(t))
        return text

    def _interval(self, iv: ReportInterval) -> str:
        text = self._row(iv) or self._encode(_interval(iv))
        if iv.kind.startswith("maintenance"):
            self._rows[id(iv)] = text
            self._kept.append(iv)
        return text

    def _row(self, iv: ReportInterval) -> str | None:
        """`_interval(iv)`'s JSON put together here when every value has its usual type
        (a finite float, an int, a str or None: what `json` writes as `repr` or with its
        string encoder); None otherwise, and `json` encodes the row."""
        values: tuple[Any, ...] = (iv.seconds, iv.counted_seconds, iv.weighted_seconds, iv.kind,
                                   iv.priority, iv.reason, iv.reports, iv.users, iv.note)
        seconds, counted, weighted, kind, priority, reason, reports, users, note = values
        if not (
            type(seconds) is float and isfinite(seconds)
            and type(counted) is float and isfinite(counted)
            and (weighted is None or (type(weighted) is float and isfinite(weighted)))
            and type(kind) is str and type(reason) is str and type(note) is str
            and (priority is None or type(priority) is str)
            and type(reports) is int and (users is None or type(users) is int)
        ):
            return None
        quote, when = encode_basestring, self._when
        return (
            f'{{"kind": {quote(kind)}, "start": {when(iv.start)}, "end": {when(iv.end)},'
            f' "seconds": {seconds!r}, "counted_seconds": {counted!r},'
            f' "weighted_seconds": {"null" if weighted is None else repr(weighted)},'
            f' "priority": {"null" if priority is None else quote(priority)},'
            f' "reason": {quote(reason)}, "reports": {reports!r},'
            f' "users": {"null" if users is None else repr(users)}, "note": {quote(note)}}}'
        )

    def _when(self, t: datetime) -> str:
        """The JSON string of an instant, kept by value (a row's datetimes are not kept alive)."""
        text = self._instants.get(t)
        if text is None:
            text = self._instants[t] = encode_basestring(_ts(t))
        return text

    def _band(self, band: tuple[datetime, datetime, str]) -> str:
        """A band's text; the quiet bands are the same tuples in every report of a basis."""
        start, end, state = band
        key = (id(start), id(end), state)
        text = self._bands.get(key)
        if text is not None:  # seen before: likely a shared tuple, seen again
            self._same[id(band)] = text
            self._kept.append(band)
            return text
        quoted = self._states.get(state)
        if quoted is None:
            quoted = self._states[state] = encode_basestring(state)
        text = f'{{"start": {self._time(start)}, "end": {self._time(end)}, "state": {quoted}}}'
        self._bands[key] = text
        self._kept.append(band)
        return text
