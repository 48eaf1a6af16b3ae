"""The fast engine: one service's Measurement over a shared `Basis`, in integer microseconds.

Why it is fast: most of a period is quiet. Calendar hours and recurring
maintenance are the same for every service with the same policy and window
set, so their sums per month (`Basis`) are computed once for the fleet. A
service only adds its own few one-off windows (as corrections to those
sums) and walks the stretches where it has downtime or a gap, asking the
shared interval sets by binary search what each piece of such a stretch is.
Quiet time costs nothing per service.

The result equals `reference.measure_reference` for every input (tested on
seeded fleets and with hypothesis): same classification, same precedence,
same sums.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from monitord.core.intervals import Interval
from monitord.sla.availability import (
    Downtime,
    Figures,
    Gap,
    Measurement,
    State,
    derive,
    unmonitored_mode,
)
from monitord.sla.config import PRIORITIES, SlaPolicy
from monitord.sla.timebase import Cover, Pair, from_us, subtract, to_us, union_pairs

# per month: (window, in-hours window, maintenance, in-hours maintenance) in microseconds
Sums = tuple[int, int, int, int]
_ZERO: dict[str, int] = dict.fromkeys(PRIORITIES, 0)


@dataclass(frozen=True, slots=True)
class Basis:
    """What every service with this policy, period, `now` and recurring window set shares."""

    policy: SlaPolicy
    months: tuple[Interval, ...]
    bounds: tuple[int, ...]  # month edges: period start .. period end
    as_of: int
    hours: Cover  # calendar hours in the period (the whole period for 24x7)
    recurring: Cover  # honoured recurring maintenance in the period
    elapsed: tuple[Sums, ...]  # per month, up to `as_of`
    whole: tuple[Sums, ...]  # per month, `as_of` ignored (the planned error budget)
    # every edge above (period, months, `as_of`, hours, maintenance), sorted, and what the
    # piece from each edge to the next is: (sum slot or -1 outside any scope, maintenance,
    # pending); a service looks its pieces up here instead of asking each set
    edges: list[int]
    pieces: list[tuple[int, bool, bool]]
    datetimes: dict[int, datetime]  # edge -> datetime, filled as timelines are drawn
    # the timeline of a service with no downtime, gap or own window (merged bands), where
    # each band starts, and the bands as datetimes: a service's timeline is this outside
    # its own busy stretches; filled when a timeline is first drawn (`_quiet`)
    quiet: list[tuple[int, int, State]]
    quiet_starts: list[int]
    quiet_datetimes: list[tuple[datetime, datetime, State]]

    @classmethod
    def build(
        cls,
        policy: SlaPolicy,
        months: Sequence[Interval],
        as_of: datetime,
        hours: Cover,
        recurring: Cover,
        hours_recurring: Cover,
    ) -> Basis:
        bounds = (*(to_us(m.start) for m in months), to_us(months[-1].end))
        a = to_us(as_of)

        def sums(lo: int, hi: int) -> Sums:
            if hi <= lo:
                return (0, 0, 0, 0)
            return (
                hi - lo,
                hours.measure(lo, hi),
                recurring.measure(lo, hi),
                hours_recurring.measure(lo, hi),
            )

        pairs = list(itertools.pairwise(bounds))
        p0, p1 = bounds[0], bounds[-1]
        edges = sorted(
            {*bounds, *hours.cuts(p0, p1), *recurring.cuts(p0, p1), *((a,) if p0 < a < p1 else ())}
        )
        outside = policy.outside_target_percent is not None
        k_count = len(months)
        pieces: list[tuple[int, bool, bool]] = []
        for start in edges[:-1]:
            k = bisect_right(bounds, start) - 1
            slot = k if hours.contains(start) else (k_count + k if outside else -1)
            pieces.append((slot, recurring.contains(start), start >= a))
        return cls(
            policy=policy,
            months=tuple(months),
            bounds=bounds,
            as_of=a,
            hours=hours,
            recurring=recurring,
            elapsed=tuple(sums(lo, min(hi, a)) for lo, hi in pairs),
            whole=tuple(sums(lo, hi) for lo, hi in pairs),
            edges=edges,
            pieces=pieces,
            datetimes={},
            quiet=[],
            quiet_starts=[],
            quiet_datetimes=[],
        )


def _events(
    clipped: Sequence[tuple[int, int, int]], holes: Sequence[Pair]
) -> list[tuple[int, int, int]]:
    """(time, +1/-1, downtime index or -1 for a gap), in time order."""
    events = [e for cs, ce, i in clipped for e in ((cs, 1, i), (ce, -1, i))]
    events += [e for hs, he in holes for e in ((hs, 1, -1), (he, -1, -1))]
    events.sort()
    return events


def _advance(
    events: Sequence[tuple[int, int, int]], j: int, t: int, active: dict[int, int]
) -> tuple[int, int]:
    """Apply the events from index `j` up to time `t` to `active` (downtime index -> depth).

    Returns the index of the first event after `t` and the change in gap depth.
    """
    gap_delta = 0
    n = len(events)
    while j < n and events[j][0] <= t:
        _, delta, idx = events[j]
        if idx < 0:
            gap_delta += delta
        else:
            c = active.get(idx, 0) + delta
            if c:
                active[idx] = c
            else:
                del active[idx]
        j += 1
    return j, gap_delta


def _hit(
    spans: Sequence[tuple[str, bool, int]],
    active: Iterable[int],
    total: int | None,
    overlap_max: bool,
) -> int:
    """Users hit by the counted downtimes in `active` (1 when unweighted, 0 when none counts)."""
    users = [spans[i][2] for i in active if spans[i][1]]
    if not users:
        return 0
    if total is None:
        return 1
    return max(users) if overlap_max else min(sum(users), total)


def _sweep(
    events: Sequence[tuple[int, int, int]],
    spans: Sequence[tuple[str, bool, int]],
    total: int | None,
    overlap_max: bool,
    account: Callable[[int, int, int, Iterable[str], bool], None],
) -> None:
    """The general case: an event sweep over overlapping downtimes and gaps."""
    active: dict[int, int] = {}
    gap_depth = 0
    n = len(events)
    j = 0
    while j < n:
        t = events[j][0]
        j, gap_delta = _advance(events, j, t, active)
        gap_depth += gap_delta
        if j >= n or not (active or gap_depth):
            continue
        hit = _hit(spans, active, total, overlap_max)
        account(t, events[j][0], hit, {spans[i][0] for i in active}, gap_depth > 0)


def _month_figures(
    excluded: bool,
    unmon_mode: str,
    window: int,
    maint: int,
    down: int,
    weighted: Fraction,
    unmon: int,
    prio: dict[str, int] | None,
    planned: int,
) -> Figures:
    """`derive` for one month, inlined: a rolling fleet report makes twelve per service."""
    measured = window - (maint if excluded else 0) - (unmon if unmon_mode == "excluded" else 0)
    return Figures(
        window, measured, maint, down, weighted,
        weighted + unmon if unmon_mode == "down" else weighted,
        unmon, {**_ZERO, **prio} if prio else _ZERO, planned,
    )


def _split(
    edges: list[int],
    pieces: list[tuple[int, bool, bool]],
    own: list[int] | None,
    first: int,
    t: int,
    nxt: int,
) -> list[tuple[int, tuple[int, bool, bool]]]:
    """[t, nxt) cut at the shared edges (and the service's own windows): (length, kind)."""
    cuts = edges[first + 1 : bisect_left(edges, nxt)]
    if own:
        own_cuts = own[bisect_right(own, t) : bisect_left(own, nxt)]
        if own_cuts:
            cuts = sorted({*cuts, *own_cuts})
    cuts.append(nxt)
    out = []
    u = t
    for v in cuts:
        slot, maint, pending = pieces[bisect_right(edges, u) - 1]
        if own is not None and not maint and bisect_right(own, u) & 1:
            maint = True
        out.append((v - u, (slot, maint, pending)))
        u = v
    return out


def _extra(pairs: Sequence[Pair], hours: Cover, lo: int, hi: int) -> tuple[int, int]:
    """(all, in-hours) length of the service's own maintenance `pairs` inside [lo, hi)."""
    total = inside = 0
    for s, e in pairs:
        s, e = max(s, lo), min(e, hi)
        if s < e:
            total += e - s
            inside += hours.measure(s, e)
    return total, inside


def measure(
    basis: Basis,
    *,
    own_maintenance: Sequence[Pair],
    downtimes: Sequence[Downtime],
    gaps: Sequence[Gap],
) -> Measurement:
    """The Measurement of one service; `own_maintenance` are its honoured one-off windows."""
    policy = basis.policy
    hours, recurring, bounds, a = basis.hours, basis.recurring, basis.bounds, basis.as_of
    p0, p1 = bounds[0], bounds[-1]
    k_count = len(basis.months)
    excluded = policy.maintenance == "excluded"
    mode = unmonitored_mode(policy)
    outside_measured = policy.outside_target_percent is not None
    weighting = policy.weighting
    total = weighting.total_users if weighting is not None else None
    overlap_max = weighting is not None and weighting.overlap == "max"

    own = subtract(union_pairs((max(s, p0), min(e, p1)) for s, e in own_maintenance), recurring)
    own_cover = Cover(own)
    has_own = bool(own)
    gap_excluded = mode == "excluded"

    # --- the service's downtimes and gaps inside the period ----------------------------
    # per downtime: (priority, counts, affected users capped at the total; 1 when unweighted)
    spans: list[tuple[str, bool, int]] = []
    clipped: list[tuple[int, int, int]] = []  # (start, end, downtime index), non-empty only
    problem_pairs: list[Pair] = []
    everything = policy.downtime_counts == "all"
    counted_set = () if everything else policy.downtime_counts
    for i, d in enumerate(downtimes):
        ds, de = to_us(d.start), to_us(d.end)
        counts = everything or d.priority in counted_set
        if counts:
            problem_pairs.append((ds, de))
        users = 1 if total is None else (total if d.users is None else min(d.users, total))
        spans.append((d.priority, counts, users))
        cs, ce = (ds if ds > p0 else p0), (de if de < p1 else p1)
        if cs < ce:
            clipped.append((cs, ce, i))
    holes = union_pairs((max(to_us(g.start), p0), min(to_us(g.end), p1)) for g in gaps)
    problem_starts = [s for s, _ in union_pairs(problem_pairs)]

    # sums per scope (0 in hours, 1 outside) and month, flat: [scope * months + month]
    size = 2 * k_count
    down = [0] * size
    wnum = [0] * size
    unmon = [0] * size
    gap_planned = [0] * size
    prio: dict[int, dict[str, int]] = {}
    counted_us: dict[int, int] = {}
    weighted_num: dict[int, int] = {}
    hit_problems: set[int] = set()
    edges, pieces, oe = basis.edges, basis.pieces, own_cover.edges

    def account(t: int, nxt: int, hit: int, priorities: Iterable[str], gap: bool) -> None:
        """Sum one stretch [t, nxt) with one set of covering downtimes (and gap or not)."""
        first = bisect_right(edges, t) - 1
        problem = problem_starts[bisect_right(problem_starts, t) - 1] if hit else 0
        if not has_own and edges[first + 1] >= nxt:  # the usual case: one piece
            pieces_of_span: Sequence[tuple[int, tuple[int, bool, bool]]] = (
                (nxt - t, pieces[first]),
            )
        else:
            pieces_of_span = _split(edges, pieces, oe if has_own else None, first, t, nxt)
        for length, (slot, maint, pending) in pieces_of_span:
            if slot < 0:
                continue
            if gap and gap_excluded and not (maint and excluded):
                gap_planned[slot] += length
            if pending or maint:
                continue
            if priorities:
                found = prio.get(slot)
                if found is None:
                    found = prio[slot] = {}
                for p in priorities:
                    found[p] = found.get(p, 0) + length
            if hit:
                down[slot] += length
                wnum[slot] += hit * length
                counted_us[problem] = counted_us.get(problem, 0) + length
                weighted_num[problem] = weighted_num.get(problem, 0) + hit * length
                hit_problems.add(problem)
            elif gap:
                unmon[slot] += length

    # Downtimes and gaps that overlap nothing else (most of them) are a stretch each;
    # only a cluster of overlapping ones needs the event sweep.
    items = sorted([*clipped, *((hs, he, -1) for hs, he in holes)])
    k, n_items = 0, len(items)
    while k < n_items:
        end, j = items[k][1], k + 1
        while j < n_items and items[j][0] < end:
            end = max(end, items[j][1])
            j += 1
        if j == k + 1:
            cs, ce, i = items[k]
            if i < 0:
                account(cs, ce, 0, (), True)
            else:
                priority, counts, users = spans[i]
                account(cs, ce, users if counts else 0, (priority,), False)
        else:
            cluster = items[k:j]
            _sweep(_events([c for c in cluster if c[2] >= 0],
                           [(c[0], c[1]) for c in cluster if c[2] < 0]),
                   spans, total, overlap_max, account)
        k = j

    # --- figures: the shared sums, corrected by the service's own windows -------------
    window = [0] * size
    maint_us = [0] * size
    planned = [0] * size
    for k in range(k_count):
        wa, wi, ma, mi = basis.elapsed[k]
        fa, fi, fma, fmi = basis.whole[k]
        if has_own:
            lo, hi = bounds[k], bounds[k + 1]
            extra_a, extra_i = _extra(own, hours, lo, min(hi, a))
            ma, mi = ma + extra_a, mi + extra_i
            extra_a, extra_i = _extra(own, hours, lo, hi)
            fma, fmi = fma + extra_a, fmi + extra_i
        window[k], maint_us[k] = wi, mi
        planned[k] = fi - (fmi if excluded else 0) - gap_planned[k]
        if outside_measured:
            o = k_count + k
            window[o], maint_us[o] = wa - wi, ma - mi
            planned[o] = (fa - fi) - ((fma - fmi) if excluded else 0) - gap_planned[o]

    def figures(slots: range) -> Figures:
        by_priority = dict(_ZERO)
        for slot in slots:
            found = prio.get(slot)
            if found:
                for p, us in found.items():
                    by_priority[p] = by_priority.get(p, 0) + us
        num = sum(wnum[slot] for slot in slots)
        return derive(
            policy,
            window=sum(window[slot] for slot in slots),
            maintenance=sum(maint_us[slot] for slot in slots),
            down=sum(down[slot] for slot in slots),
            weighted=Fraction(num) if total is None else Fraction(num, total),
            unmonitored=sum(unmon[slot] for slot in slots),
            by_priority=by_priority,
            planned=sum(planned[slot] for slot in slots),
        )

    months: tuple[tuple[Interval, Figures], ...] = ()
    if k_count > 1:
        unmon_mode = unmonitored_mode(policy)
        months = tuple(
            (
                m,
                _month_figures(
                    excluded, unmon_mode, window[k], maint_us[k], down[k],
                    Fraction(wnum[k]) if total is None else Fraction(wnum[k], total),
                    unmon[k], prio.get(k), planned[k],
                ),
            )
            for k, m in enumerate(basis.months)
        )

    def timeline() -> list[tuple[datetime, datetime, State]]:
        events = _events(clipped, holes)
        busy = union_pairs([*((cs, ce) for cs, ce, _ in clipped), *holes, *own])
        return _timeline(basis, own_cover.edges, spans, events, busy, total, overlap_max)

    return Measurement(
        main=figures(range(k_count)),
        outside=figures(range(k_count, size)) if outside_measured else None,
        months=months,
        interruptions=len(hit_problems),
        counted_us=counted_us,
        # weighted seconds mean something only when the policy weighs (else: counted_us)
        weighted_us={k: Fraction(v, total) for k, v in weighted_num.items()} if total else {},
        timeline=timeline,
    )


def _state(piece: tuple[int, bool, bool], own: bool, active: bool, down: bool, gap: bool) -> State:
    """The state of a stretch: its shared piece, inside an own window or not, what is active."""
    slot, maint, pending = piece
    if pending:
        return "pending"
    if slot < 0:
        return "outside_hours"
    if maint or own:
        return "planned_down" if active else "maintenance"
    if down:
        return "down"
    return "unmonitored" if gap else "up"


def _quiet(basis: Basis, datetime_of: Callable[[int], datetime]) -> None:
    """Fill the basis's quiet timeline; `quiet` last, so whoever sees it sees the rest."""
    quiet: list[tuple[int, int, State]] = []
    for (u, v), piece in zip(itertools.pairwise(basis.edges), basis.pieces, strict=True):
        state = _state(piece, False, False, False, False)
        if quiet and quiet[-1][2] == state:
            quiet[-1] = (quiet[-1][0], v, state)
        else:
            quiet.append((u, v, state))
    basis.quiet_datetimes[:] = [(datetime_of(u), datetime_of(v), st) for u, v, st in quiet]
    basis.quiet_starts[:] = [b[0] for b in quiet]
    basis.quiet[:] = quiet


class _Bands:
    """Timeline bands being drawn, in microseconds and as datetimes side by side.

    Why both: the quiet bands are copied as slices of datetimes shared by the
    fleet, so only the bands a service draws itself need converting.
    """

    __slots__ = ("basis", "out", "res")

    def __init__(self, basis: Basis) -> None:
        self.basis = basis
        self.out: list[tuple[int, int, State]] = []
        self.res: list[tuple[datetime, datetime, State]] = []
        if not basis.quiet:
            _quiet(basis, self.datetime)

    def datetime(self, us: int) -> datetime:
        cache = self.basis.datetimes
        found = cache.get(us)
        if found is None:
            found = cache[us] = from_us(us)
        return found

    def add(self, u: int, v: int, state: State) -> None:
        """[u, v), merged into the last band when the state is the same."""
        out, res = self.out, self.res
        if out and out[-1][2] == state:
            out[-1] = (out[-1][0], v, state)
            res[-1] = (res[-1][0], self.datetime(v), state)
        else:
            start = res[-1][1] if out and out[-1][1] == u else self.datetime(u)
            out.append((u, v, state))
            res.append((start, self.datetime(v), state))

    def quiet(self, lo: int, hi: int) -> None:
        """The shared quiet bands over [lo, hi), clipped."""
        basis = self.basis
        quiet = basis.quiet
        k = bisect_right(basis.quiet_starts, lo) - 1
        _, e, state = quiet[k]
        self.add(lo, min(e, hi), state)
        k += 1
        last = bisect_left(basis.quiet_starts, hi)  # bands k .. last-1 start inside (lo, hi)
        if k < last:
            self.out.extend(quiet[k : last - 1])
            self.res.extend(basis.quiet_datetimes[k : last - 1])
            s, e, state = quiet[last - 1]
            self.out.append((s, min(e, hi), state))
            self.res.append((basis.quiet_datetimes[last - 1][0], self.datetime(min(e, hi)), state))


def _timeline(
    basis: Basis,
    own_edges: list[int],
    spans: Sequence[tuple[str, bool, int]],
    events: Sequence[tuple[int, int, int]],
    busy: Sequence[Pair],
    total: int | None,
    overlap_max: bool,
) -> list[tuple[datetime, datetime, State]]:
    """State bands over the whole period (merged), for the HTML report and full output.

    Outside the service's busy stretches (its downtimes, gaps and own windows)
    the timeline is the basis's quiet one, copied; inside them the shared
    pieces are walked with pointers (no search per band).
    """
    edges, pieces = basis.edges, basis.pieces
    bands = _Bands(basis)
    active: dict[int, int] = {}
    gap_depth = 0
    down_now = False
    j, n = 0, len(events)
    si = 0
    oi, on = 0, len(own_edges)
    t = edges[0]
    for bs, be in busy:
        if t < bs:
            bands.quiet(t, bs)
        m = j
        while m < n and events[m][0] < be:
            m += 1
        times = sorted({
            bs, be,
            *edges[bisect_right(edges, bs) : bisect_left(edges, be)],
            *own_edges[bisect_right(own_edges, bs) : bisect_left(own_edges, be)],
            *(e[0] for e in events[j:m] if e[0] > bs),
        })
        for u, v in itertools.pairwise(times):
            if j < n and events[j][0] <= u:
                j, gap_delta = _advance(events, j, u, active)
                gap_depth += gap_delta
                down_now = _hit(spans, active, total, overlap_max) > 0
            while edges[si + 1] <= u:
                si += 1
            while oi < on and own_edges[oi] <= u:
                oi += 1
            bands.add(u, v, _state(pieces[si], bool(oi & 1), bool(active), down_now, bool(gap_depth)))
        t = be
    if t < edges[-1]:
        bands.quiet(t, edges[-1])
    return bands.res
