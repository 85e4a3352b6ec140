-- Rows ingestion refused, with the rule they broke and the run that refused them.
-- In Kaizen's database: operators fix the rows in the shop, then re-run the day.
CREATE TABLE ingest_quarantine (
    event_id        bigint,
    session_id      text,
    visitor_id      text,
    item_id         text,
    event_type      text,
    occurred_at     timestamptz,
    partition_date  date NOT NULL,
    rule            text NOT NULL,
    all_rules       text[] NOT NULL,
    run_id          text NOT NULL,
    quarantined_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX ingest_quarantine_partition_date_idx ON ingest_quarantine (partition_date);
