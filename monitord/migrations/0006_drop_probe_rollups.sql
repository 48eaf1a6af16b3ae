-- Probe rollups were written every 5 s and read by nobody: the SLA record is the
-- intervals, gaps and events. Dropping them also bounds what a store outage can
-- leave waiting in memory.
DROP INDEX IF EXISTS probe_rollup_by_bucket;
DROP TABLE IF EXISTS probe_rollup;
