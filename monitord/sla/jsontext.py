"""The compact JSON text of a fleet's reports, spliced from pieces encoded once.

Why: a rolling year's full report is a few hundred rows (maintenance
occurrences, timeline bands) per service, most of them the same objects in
every report of the fleet. Building a dict per row and handing it to
`json.dumps` costs more than the figures; here each shared row is encoded
once and its text reused, and the three lists are joined as text.

The result is byte for byte `json.dumps(report_to_dict(r), ensure_ascii=False)`
(tested on seeded fleets and on odd strings): the head is that very call with
`summary=True`, whose dict ends where the three lists begin, and every row is
encoded by `json` itself or from its string encoder.
"""

from __future__ import annotations

import json
from datetime import datetime
from json.encoder import encode_basestring

from monitord.sla.render import _incident, _interval, _ts, report_to_dict
from monitord.sla.report import Report, ReportInterval

_LISTS = '{head}, "incidents": [{incidents}], "intervals": [{intervals}], "timeline": [{timeline}]}}'


class FleetText:
    """Encodes reports one by one, remembering the text of rows reports share.

    The caches hold the objects they are keyed by (an `id` stays theirs while
    they live), so they live as long as the fleet's output.
    """

    __slots__ = ("_bands", "_rows", "_states")

    def __init__(self) -> None:
        self._rows: dict[int, tuple[ReportInterval, str]] = {}
        self._bands: dict[tuple[int, int, str], tuple[datetime, datetime, str]] = {}
        self._states: dict[str, str] = {}

    def encode(self, r: Report) -> str:
        """`json.dumps(report_to_dict(r), ensure_ascii=False)`, faster."""
        head = json.dumps(report_to_dict(r, summary=True), ensure_ascii=False)
        return _LISTS.format(
            head=head[:-1],
            incidents=", ".join(json.dumps(_incident(i), ensure_ascii=False) for i in r.incidents),
            intervals=", ".join(self._interval(iv) for iv in r.intervals),
            timeline=", ".join(self._band(s, e, st) for s, e, st in r.detail.timeline_rows()),
        )

    def _interval(self, iv: ReportInterval) -> str:
        found = self._rows.get(id(iv))
        if found is not None:
            return found[1]
        text = json.dumps(_interval(iv), ensure_ascii=False)
        if iv.kind.startswith("maintenance"):
            self._rows[id(iv)] = (iv, text)
        return text

    def _band(self, start: datetime, end: datetime, state: str) -> str:
        key = (id(start), id(end), state)
        found = self._bands.get(key)
        if found is not None:
            return found[2]
        quoted = self._states.get(state)
        if quoted is None:
            quoted = self._states[state] = encode_basestring(state)
        text = (
            f'{{"start": {encode_basestring(_ts(start))}, "end": {encode_basestring(_ts(end))},'
            f' "state": {quoted}}}'
        )
        self._bands[key] = (start, end, text)
        return text
