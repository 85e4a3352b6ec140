"""The synthetic shop: deterministic, with the structure a sequence-aware model can learn."""

import pandas as pd
import psycopg2

from kaizen.models import Popularity, SequentialRules
from kaizen.shop.generator import ShopSpec, generate
from kaizen.shop.loaders import load_generated
from kaizen.training.dataset import time_split
from kaizen.training.evaluation import evaluate


def events_of(spec: ShopSpec) -> pd.DataFrame:
    _, chunks = generate(spec)
    return pd.concat(list(chunks), ignore_index=True)


def test_same_seed_same_shop_other_seed_other_shop():
    spec = ShopSpec(events=20_000, seed=5, chunk_sessions=1_000)
    assert events_of(spec).equals(events_of(spec))
    assert not events_of(spec).equals(events_of(ShopSpec(events=20_000, seed=6, chunk_sessions=1_000)))


def test_structure_funnel_seasonality_and_new_items():
    spec = ShopSpec(events=100_000, seed=1, days=10)
    events = events_of(spec)
    assert abs(len(events) - spec.events) / spec.events < 0.05
    shares = events["event_type"].value_counts(normalize=True)
    assert shares["view"] > 0.85 and shares["addtocart"] > shares["transaction"] > 0.01
    hours = events["occurred_at"].dt.hour.value_counts()
    assert hours[20] > 3 * hours[3], "evening peak"
    first_seen = events.groupby("item_id")["occurred_at"].min().dt.floor("D")
    assert first_seen.nunique() > 5, "items keep appearing over the period"


def test_sequences_are_learnable():
    events = events_of(ShopSpec(events=100_000, seed=2, days=10))
    split = time_split(events.assign(event_id=range(len(events))), test_days=2)
    sr, pop = (
        evaluate(SequentialRules().fit(split.train), split.test),
        evaluate(Popularity().fit(split.train), split.test),
    )
    assert sr["hr_20"] > 2 * pop["hr_20"]


def test_drift_moves_popularity():
    events = events_of(ShopSpec(events=100_000, seed=3, days=10, drift_day=5))
    before = events[events["occurred_at"].dt.day < 6]["item_id"].value_counts().head(20).index
    after = events[events["occurred_at"].dt.day >= 7]["item_id"].value_counts().head(20).index
    assert len(set(before) & set(after)) < 10


def test_generated_shop_streams_into_postgres(fresh_db):
    result = load_generated(fresh_db, ShopSpec(events=10_000, seed=4, chunk_sessions=500))
    with psycopg2.connect(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM events")
        assert cur.fetchone()[0] == result["events"]
        cur.execute("SELECT count(*) FROM events e LEFT JOIN products p USING (item_id) WHERE p.item_id IS NULL")
        assert cur.fetchone()[0] == 0
    conn.close()
