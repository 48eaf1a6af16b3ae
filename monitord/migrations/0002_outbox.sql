-- Schema 2: the durable outbox that MQTT is published from.
--
-- Rows are written in the same transaction as the state change they
-- announce (SqliteStore.commit_check / commit_service, built by
-- monitord/storage/outbox.py), so a crash can never record a change without
-- its announcement or announce one that was not recorded. The publisher
-- drains in `seq` order and deletes rows only after the broker's PUBACK:
-- delivery is at least once, and consumers de-duplicate on `event_id`.

CREATE TABLE outbox (
    -- publish order; AUTOINCREMENT never reuses a number, so consumers can
    -- spot a gap in the sequence
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT    NOT NULL UNIQUE,
    channel  TEXT    NOT NULL CHECK (channel IN ('event', 'state')),
    kind     TEXT    NOT NULL,
    level    TEXT    NOT NULL CHECK (level IN ('check', 'service')),
    subject  TEXT    NOT NULL,  -- check or service name
    at_us    INTEGER NOT NULL,
    payload  TEXT    NOT NULL   -- JSON object: the kind's fields (see alerting/schema)
);
