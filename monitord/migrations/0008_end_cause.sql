-- Why a downtime interval ended: 'recovered' (its first successful probe: every
-- interval closed before this schema), 'removed' (its check or service left the
-- config at a reload), 'unmonitored' (the record resumed after a span it could not
-- take). A dispute must be able to tell a recovery from the end of watching.
ALTER TABLE downtimes ADD COLUMN end_cause TEXT
    CHECK (end_cause IS NULL OR end_cause IN ('recovered', 'removed', 'unmonitored'));
UPDATE downtimes SET end_cause = 'recovered' WHERE end_us IS NOT NULL;
