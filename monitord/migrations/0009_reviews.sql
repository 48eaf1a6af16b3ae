-- Schema 9: incident review, an SLA manager's decisions on the record (issue 16).
--
-- Append-only: a review never changes a recorded interval and is never
-- changed itself; a later entry overrules an earlier one when a report folds
-- them in id order. `who` is the name of the API token that wrote it.
-- `targets` is a JSON list of interval references ("store:12"); `start_us` and
-- `end_us` are set for an exclusion only.

CREATE TABLE reviews (
    id       INTEGER PRIMARY KEY,
    at_us    INTEGER NOT NULL,
    who      TEXT    NOT NULL CHECK (length(who) BETWEEN 1 AND 128),
    service  TEXT    NOT NULL,
    action   TEXT    NOT NULL CHECK (action IN ('reclassify', 'group', 'exclude', 'ticket', 'note')),
    targets  TEXT    NOT NULL DEFAULT '[]',
    start_us INTEGER,
    end_us   INTEGER,
    value    TEXT    NOT NULL DEFAULT '',
    reason   TEXT    NOT NULL DEFAULT '',
    CHECK ((action = 'exclude') = (start_us IS NOT NULL AND end_us IS NOT NULL AND end_us > start_us))
);
CREATE INDEX reviews_by_service ON reviews (service, id);
CREATE TRIGGER reviews_never_change BEFORE UPDATE ON reviews
BEGIN
    SELECT RAISE(ABORT, 'reviews are append-only: add a new entry instead');
END;
CREATE TRIGGER reviews_never_vanish BEFORE DELETE ON reviews
BEGIN
    SELECT RAISE(ABORT, 'reviews are append-only: add a new entry instead');
END;
