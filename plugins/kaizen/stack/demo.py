"""``make demo``: bring the stack up, load a demo shop, run kaizen_e2e through Airflow's REST API."""

from __future__ import annotations

import logging
from collections.abc import Callable

import psycopg2

from kaizen.airflow_api import AirflowClient
from kaizen.config import PROJECT_DIR, Settings
from kaizen.serving.client import ModelServerClient, Recommendation
from kaizen.serving.rollout import smoke_sessions
from kaizen.shop import loaders
from kaizen.shop.schema import migrate
from kaizen.stack import airflow, embedded

log = logging.getLogger(__name__)

DEMO_DATA = PROJECT_DIR / "data" / "retailrocket-week" / "events.tsv"
DAG_ID = "kaizen_e2e"


def load_demo_shop(demo_shop_db_url: str) -> int:
    """Load the RetailRocket week into the demo shop (its owner's login) unless it already
    has events; returns the shop's event count."""
    migrate(demo_shop_db_url)
    with psycopg2.connect(demo_shop_db_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM events")
        (count,) = cur.fetchone()
    conn.close()
    if count == 0:
        count = loaders.load(demo_shop_db_url, "retailrocket", DEMO_DATA)["events"]
    return count


def airflow_client(settings: Settings) -> AirflowClient:
    return AirflowClient.from_password_file(settings.airflow_url, airflow.ADMIN_USER, airflow.password_file(settings))


def run_dag(settings: Settings, dag_id: str, conf: dict | None = None, say: Callable[[str], None] = log.info) -> str:
    """Trigger ``dag_id`` over REST and wait, reporting each task's state as it changes."""
    return airflow_client(settings).run(dag_id, conf, say)


def demo(settings: Settings, say: Callable[[str], None]) -> Recommendation:
    say("starting the embedded stack (PostgreSQL, MLflow, Airflow, model server) ...")
    stack = embedded.up(settings)
    settings = stack.settings
    events = load_demo_shop(settings.demo_shop_db_url)
    say(f"demo shop: {events} events (RetailRocket, one week)")
    run_dag(settings, DAG_ID, say=say)
    session = smoke_sessions(settings, count=1)[0]
    answer = ModelServerClient(settings.model_server_url).recommend(session, k=10, placement="product_page")
    say("")
    say(
        f"Airflow UI     {settings.airflow_url}  "
        f"(user {airflow.ADMIN_USER}, password in {airflow.password_file(settings)})"
    )
    # MLflow 3's UI opens in GenAI mode unless the link asks for model training.
    say(f"MLflow UI      {settings.mlflow_tracking_uri}/#/experiments?workflowType=machine_learning")
    say(f"Model server   {settings.model_server_url}/api/v1.0/predictions")
    say("")
    say(f"A shopper who viewed {session} sees on the product page ({settings.model_name} v{answer.model_version}):")
    say("  " + ", ".join(answer.items))
    return answer
