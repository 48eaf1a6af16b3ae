-- PostgreSQL schema 2: incident review (SQLite's schema 9), append-only.
--
-- A review never changes a recorded interval and is never changed itself: the
-- trigger refuses UPDATE and DELETE (TRUNCATE too), so a correction is a new
-- entry. `who` is the name of the API token that wrote it.

CREATE TABLE reviews (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_us    BIGINT NOT NULL,
    who      TEXT   NOT NULL CHECK (length(who) BETWEEN 1 AND 128),
    service  TEXT   NOT NULL,
    action   TEXT   NOT NULL CHECK (action IN ('reclassify', 'group', 'exclude', 'ticket', 'note')),
    targets  TEXT   NOT NULL DEFAULT '[]',
    start_us BIGINT,
    end_us   BIGINT,
    value    TEXT   NOT NULL DEFAULT '',
    reason   TEXT   NOT NULL DEFAULT '',
    CHECK ((action = 'exclude') = (start_us IS NOT NULL AND end_us IS NOT NULL AND end_us > start_us))
);
CREATE INDEX reviews_by_service ON reviews (service, id);

CREATE FUNCTION reviews_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'reviews are append-only: add a new entry instead';
END
$$;
CREATE TRIGGER reviews_never_change BEFORE UPDATE OR DELETE OR TRUNCATE ON reviews
    FOR EACH STATEMENT EXECUTE FUNCTION reviews_append_only();
