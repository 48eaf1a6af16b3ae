-- Schema 5: the permanent log of standalone events (an SNMP reboot, a
-- maintenance window starting or ending).
--
-- These are facts an SLA manager may cite ("the PBX rebooted at 03:12"), so
-- they are kept whether or not MQTT is configured; the outbox only carries
-- them to consumers. `event_id` is the same id MQTT consumers see.

CREATE TABLE events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT    NOT NULL UNIQUE,
    kind     TEXT    NOT NULL,
    level    TEXT    NOT NULL CHECK (level IN ('check', 'service')),
    subject  TEXT    NOT NULL,  -- check or service name
    at_us    INTEGER NOT NULL,
    payload  TEXT    NOT NULL   -- JSON object: the kind's fields
);

CREATE INDEX events_kind_at ON events (kind, at_us);
CREATE INDEX events_subject_at ON events (subject, at_us);
