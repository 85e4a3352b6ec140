-- Every ingestion run, start to end, with its summary: the history operators read, and the
-- proof that two runs never overlapped (they take turns on an advisory lock).
CREATE TABLE ingest_runs (
    run_id       text NOT NULL,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    first_day    date NOT NULL,
    last_day     date NOT NULL,
    summary      jsonb
);

CREATE INDEX ingest_runs_started_at_idx ON ingest_runs (started_at);

-- What each day's partition was built from: how many source rows the last run of the day
-- read. A later run compares the source's count with it to find events that arrived after
-- the lateness margin, and ingests their day again.
CREATE TABLE ingested_days (
    day          date PRIMARY KEY,
    rows_read    bigint NOT NULL,
    run_id       text NOT NULL,
    ingested_at  timestamptz NOT NULL DEFAULT now()
);
