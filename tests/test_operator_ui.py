"""The operator's day, in a real browser (Debian's Chromium through Playwright) against the test
stack's Airflow and MLflow UIs: log in, train with the form's defaults and read the outcome on
the run's page, see a force-promote without a reason refused in words, force a promotion, roll
back from the version dropdown, find the model's aliases in MLflow.

The tests run in order and share one browser. Each step's screenshot is kept under
``tests/artifacts/operator-day/`` (docs/operator-guide.md shows them).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path
from urllib.parse import unquote

import pytest
from mlflow import MlflowClient

from kaizen.airflow_api import AirflowClient
from kaizen.config import CHAMPION_ALIAS, PROJECT_DIR
from kaizen.stack import airflow

playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = os.environ.get("KAIZEN_CHROMIUM", "/usr/bin/chromium")
SHOTS = PROJECT_DIR / "tests" / "artifacts" / "operator-day"
FORCE_REASON = "drill: serve the challenger for the rollback rehearsal"
ROLLBACK_REASON = "rehearsal over: back to the verified champion"


@pytest.fixture(scope="module")
def day(stack, e2e_run):
    """What the steps share: the stack, a logged-in page, the REST client, the registry; the
    DAGs the form unpaused are paused again at the end, so no later test sees a chain start."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium (or set KAIZEN_CHROMIUM)")
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    password = json.loads(airflow.password_file(stack).read_text())[airflow.ADMIN_USER]
    api = AirflowClient.from_password_file(stack.airflow_url, airflow.ADMIN_USER, airflow.password_file(stack))
    registry = MlflowClient(stack.mlflow_tracking_uri)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(30_000)
        state = {
            "stack": stack,
            "page": page,
            "api": api,
            "registry": registry,
            "password": password,
        }
        yield state
        browser.close()
    for dag_id in ("train_recommender", "deploy_recommender"):
        api.request("PATCH", f"/dags/{dag_id}", json={"is_paused": True})


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def runs(api: AirflowClient, dag_id: str) -> list[dict]:
    return api.request("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100})["dag_runs"]


def open_trigger_form(page, stack, dag_id: str):
    page.goto(f"{stack.airflow_url}/dags/{dag_id}")
    page.get_by_role("button", name="Trigger").first.click()
    return page.get_by_role("dialog")


def submit(page, dialog) -> str:
    """Press the form's Trigger; the new run's id, from the page Airflow opens."""
    dialog.get_by_role("button", name="Trigger").click()
    page.wait_for_url(re.compile(r".*/runs/.+"))
    return unquote(page.url.rsplit("/runs/", 1)[1])


def switch_on(dialog, param: str) -> None:
    switch = dialog.locator(f"input[name=element_{param}]")
    switch.evaluate("element => element.scrollIntoView()")
    switch.locator("xpath=..").click()
    assert switch.is_checked()


def run_page_note(page, stack, dag_id: str, run_id: str) -> str:
    """The run's page as an operator sees it once the run ended: its header with the note."""
    page.goto(f"{stack.airflow_url}/dags/{dag_id}/runs/{run_id}")
    note = page.get_by_text(re.compile(r"^(v\d+ |@champion |check_params failed|check_request failed)"))
    note.first.wait_for()
    return note.first.inner_text()


def test_log_in(day):
    page, stack = day["page"], day["stack"]
    page.goto(stack.airflow_url)
    page.get_by_label("Username").fill(airflow.ADMIN_USER)
    page.get_by_label("Password").fill(day["password"])
    shot(page, "01-log-in")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "login" not in url)
    page.goto(f"{stack.airflow_url}/dags?tags=kaizen")
    page.get_by_text("train_recommender").first.wait_for()
    shot(page, "02-dags")


def test_train_with_the_forms_defaults_shows_the_outcome_and_starts_one_run(day):
    page, stack, api = day["page"], day["stack"], day["api"]
    before = len(runs(api, "train_recommender"))
    dialog = open_trigger_form(page, stack, "train_recommender")
    dialog.get_by_text("Run Parameters").wait_for()
    shot(page, "03-train-form")
    run_id = submit(page, dialog)
    assert api.wait_for_run("train_recommender", run_id, timeout_s=600) == "success"
    note = run_page_note(page, stack, "train_recommender", run_id)
    shot(page, "04-train-outcome")
    # On the data the e2e run trained on, with the same options, there is nothing new to train.
    assert re.match(
        r"v\d+ (was made from the same data .* nothing new to train|kept as @challenger: MRR@20|promoted)", note
    ), note
    # The form unpaused the DAG; neither its 02:00 schedule nor its Asset may add a run now.
    time.sleep(15)
    assert len(runs(api, "train_recommender")) == before + 1


def test_force_promote_without_a_reason_is_refused_in_words(day):
    page, stack, api = day["page"], day["stack"], day["api"]
    dialog = open_trigger_form(page, stack, "train_recommender")
    switch_on(dialog, "force_promote")
    dialog.locator("#element_force_reason").fill("too short")
    dialog.get_by_role("button", name="Trigger").click()
    dialog.get_by_text("is too short").wait_for()  # the api-server refuses the Params: no run starts
    dialog.get_by_text("is too short").scroll_into_view_if_needed()
    shot(page, "05-force-reason-too-short")
    # The error toast covers the Trigger button, and stays while the pointer rests on it.
    page.mouse.move(0, 0)
    page.locator("[data-scope=toast][data-part=root]").wait_for(state="detached")
    dialog.locator("#element_force_reason").fill("")
    run_id = submit(page, dialog)
    assert api.wait_for_run("train_recommender", run_id, timeout_s=300) == "failed"
    note = run_page_note(page, stack, "train_recommender", run_id)
    shot(page, "06-force-without-reason")
    assert note.startswith("check_params failed: force_promote needs a force_reason of at least 10 characters"), note
    tasks = api.request("GET", f"/dags/train_recommender/dagRuns/{run_id}/taskInstances")["task_instances"]
    by_id = {t["task_id"]: t for t in tasks}
    assert by_id["check_params"]["try_number"] == 1, "a rule a retry cannot fix must not be retried"
    assert by_id["train"]["state"] == "upstream_failed", "nothing may be trained"


def test_force_promote_with_a_reason_records_the_override(day):
    page, stack, api = day["page"], day["stack"], day["api"]
    day["previous"] = day["registry"].get_model_version_by_alias(stack.model_name, CHAMPION_ALIAS).version
    dialog = open_trigger_form(page, stack, "train_recommender")
    switch_on(dialog, "force_promote")
    dialog.locator("#element_force_reason").fill(FORCE_REASON)
    run_id = submit(page, dialog)
    assert api.wait_for_run("train_recommender", run_id, timeout_s=600) == "success"
    note = run_page_note(page, stack, "train_recommender", run_id)
    shot(page, "07-forced-promotion")
    match = re.match(rf"v(\d+) promoted over v{day['previous']}: forced by operator: {FORCE_REASON}", note)
    assert match, note
    day["forced"] = match.group(1)
    champion = day["registry"].get_model_version_by_alias(stack.model_name, CHAMPION_ALIAS)
    assert champion.version == day["forced"]


def test_roll_back_from_the_version_dropdown(day):
    page, stack, api, registry = day["page"], day["stack"], day["api"], day["registry"]
    previous, forced = day["previous"], day["forced"]
    # The dropdown is refreshed when Airflow parses the DAG file again (every 30 s or so).
    deadline = time.monotonic() + 180
    while True:
        dialog = open_trigger_form(page, stack, "deploy_recommender")
        dialog.locator("#element_version").click()
        options = page.get_by_role("option")
        options.first.wait_for()
        if any(o.startswith(f"v{forced} · @{CHAMPION_ALIAS}") for o in options.all_inner_texts()):
            break
        assert time.monotonic() < deadline, f"v{forced} never appeared in the dropdown: {options.all_inner_texts()}"
        page.keyboard.press("Escape")
        time.sleep(10)
    assert options.first.inner_text() == f"the current @{CHAMPION_ALIAS} (v{forced})"
    shot(page, "08-rollback-dropdown")
    page.get_by_role("option", name=re.compile(rf"^v{previous} · ")).click()
    dialog.locator("#element_reason").fill(ROLLBACK_REASON)
    run_id = submit(page, dialog)
    assert api.wait_for_run("deploy_recommender", run_id, timeout_s=300) == "success"
    note = run_page_note(page, stack, "deploy_recommender", run_id)
    shot(page, "09-rollback-outcome")
    assert re.match(
        rf"@{CHAMPION_ALIAS} {forced} -> {previous}, 50/50 smoke answers ok, p99 \d+ ms; "
        rf"by {airflow.ADMIN_USER}: {ROLLBACK_REASON}$",
        note,
    ), note
    tags = registry.get_model_version(stack.model_name, previous).tags
    assert tags["kaizen.deploy.kind"] == "rollback"
    assert tags["kaizen.deploy.by"] == airflow.ADMIN_USER and tags["kaizen.deploy.reason"] == ROLLBACK_REASON
    assert registry.get_model_version_by_alias(stack.model_name, CHAMPION_ALIAS).version == previous


def test_mlflow_shows_the_models_aliases_and_named_runs(day):
    page, stack, registry = day["page"], day["stack"], day["registry"]
    page.goto(f"{stack.mlflow_tracking_uri}/#/models/{stack.model_name}")
    page.get_by_text(f"Version {day['forced']}", exact=True).wait_for()
    aliases = page.get_by_text(re.compile(rf"@\s*({CHAMPION_ALIAS}|challenger)"))
    aliases.first.wait_for()
    shot(page, "10-mlflow-model")
    # MLflow's UI opens in GenAI mode unless told (per browser, or by this URL parameter).
    experiment = registry.get_experiment_by_name(stack.experiment).experiment_id
    page.goto(f"{stack.mlflow_tracking_uri}/#/experiments/{experiment}?workflowType=machine_learning")
    page.get_by_text(re.compile(rf"^[a-z_]+-v{day['forced']}-forced$")).wait_for()  # family-version-verdict
    shot(page, "11-mlflow-runs")
    # The run holds the version's lineage: params, the data window and digest, the feature
    # service, the code version, plots and the model card.
    run_id = registry.get_model_version(stack.model_name, day["forced"]).run_id
    page.goto(f"{stack.mlflow_tracking_uri}/#/experiments/{experiment}/runs/{run_id}?workflowType=machine_learning")
    page.get_by_text("kaizen.window.digest").first.wait_for()
    shot(page, "12-mlflow-lineage")
