"""SLA engine: availability per contract, maintenance windows, calendars, credits, reports.

Pure computation over intervals (sla-rules §4-§8): no I/O and no clock reads;
`now` is passed in. Entry point: `engine.compute`; inputs from the store or a
file are turned into `availability.Downtime` and `availability.Gap` first.
"""
