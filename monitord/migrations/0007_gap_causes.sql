-- Gaps found while running (the store refused writes until its backlog bound was
-- reached: 'store_unavailable') join the shutdown causes. The cause list lives in
-- the code (monitord/storage/interface.py GapCommit); the schema only keeps it a
-- short lowercase word. SQLite cannot change a CHECK in place: rebuild the table.
CREATE TABLE gaps_v7 (
    id       INTEGER PRIMARY KEY,
    run_id   INTEGER NOT NULL REFERENCES runs (id),  -- the run that found the gap
    start_us INTEGER NOT NULL,
    end_us   INTEGER NOT NULL CHECK (end_us > start_us),
    cause    TEXT    NOT NULL CHECK (length(cause) BETWEEN 1 AND 64 AND cause NOT GLOB '*[^a-z_]*')
);
INSERT INTO gaps_v7 (id, run_id, start_us, end_us, cause)
    SELECT id, run_id, start_us, end_us, cause FROM gaps;
DROP INDEX gaps_by_start;
DROP TABLE gaps;
ALTER TABLE gaps_v7 RENAME TO gaps;
CREATE INDEX gaps_by_start ON gaps (start_us);
