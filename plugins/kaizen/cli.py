"""The ``kaizen`` command line (also ``python -m kaizen``)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import UTC
from pathlib import Path

import click

from kaizen.config import Settings
from kaizen.features.feature_server import REGISTRY_TTL_S
from kaizen.maturity.criteria import CRITERIA
from kaizen.maturity.report import FORMATS
from kaizen.models import DEFAULT_FAMILY


def _settings() -> Settings:
    return Settings.from_env()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log progress at INFO level.")
def main(verbose: bool) -> None:
    """Kaizen: an Airflow MLOps platform for session-based recommendations."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(name)s %(message)s")


@main.command()
def up() -> None:
    """Start the embedded stack and wait until every service is healthy."""
    from kaizen.stack import embedded

    stack = embedded.up(_settings())
    _print_status(stack)


@main.command()
def down() -> None:
    """Stop every service of the embedded stack (data stays under KAIZEN_HOME)."""
    from kaizen.stack import embedded

    embedded.down(_settings())
    click.echo("stopped")


@main.command()
def status() -> None:
    """Each service's state and health; exits 1 when any is unhealthy."""
    from kaizen.stack import embedded

    stack = embedded.resolve(_settings())
    if not _print_status(stack):
        sys.exit(1)


def _print_status(stack) -> bool:
    from kaizen.stack import airflow, embedded

    report = embedded.health(stack)
    for service in stack.services:
        ok, detail = report[service.name]
        click.echo(f"{'ok  ' if ok else 'FAIL'}  {service.name:22} {detail:45} {service.url}")
    click.echo(f"\nAirflow admin password: {airflow.password_file(stack.settings)} (user {airflow.ADMIN_USER})")
    click.echo(f"Logs: {stack.supervisor.logs}")
    return all(ok for ok, _ in report.values())


@main.command()
@click.argument("service", required=False)
@click.option("-n", "--lines", default=50, show_default=True, help="Lines to show.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines.")
def logs(service: str | None, lines: int, follow: bool) -> None:
    """Show a service's log (all services' when none is named)."""
    from kaizen.stack.supervisor import Supervisor

    sup = Supervisor(_settings().home)
    files = [sup.log_file(service)] if service else sorted(sup.logs.glob("*.log"))
    missing = [f for f in files if not f.exists()]
    if missing:
        raise click.ClickException(
            f"no log at {missing[0]}; services: {', '.join(p.stem for p in sup.logs.glob('*.log'))}"
        )
    subprocess.run(["tail", f"-n{lines}", *(["-F"] if follow else []), *map(str, files)])


@main.command("compose-env")
@click.argument("path", default=".env", type=click.Path(dir_okay=False, path_type=Path))
def compose_env(path: Path) -> None:
    """Write the docker compose stack's .env with every secret generated (mode 0600)."""
    from kaizen.stack.compose import write_env

    try:
        write_env(path)
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {path}: defaults from .env.example, every secret generated; readable by you only")


@main.command("feature-server")
@click.option(
    "--registry-ttl", default=REGISTRY_TTL_S, show_default=True, help="Seconds between reads of Feast's registry."
)
def feature_server(registry_ttl: int) -> None:
    """Run Feast's feature server (feast serve) on KAIZEN_HOST:KAIZEN_FEATURE_SERVER_PORT
    over this stack's feature repository (containers run this; `kaizen up` starts it itself)."""
    from kaizen.features.feature_server import serve

    serve(_settings(), registry_ttl)


@main.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def airflow(args: tuple[str, ...]) -> None:
    """Run the ``airflow`` CLI against the embedded stack, e.g. ``kaizen airflow dags list``."""
    import os

    from kaizen.stack import embedded
    from kaizen.stack.airflow import airflow_command

    stack = embedded.resolve(_settings())
    command = airflow_command(*args)
    os.execve(command[0], command, stack.env)


@main.command()
def demo() -> None:
    """Start the stack, load the demo shop, train and serve through Airflow, print a recommendation."""
    from kaizen.stack.demo import demo as run_demo

    run_demo(_settings(), click.echo)


@main.command()
@click.option("--items", required=True, help="Comma-separated item ids of the session, oldest first.")
@click.option("--k", default=20, show_default=True, help="How many items to recommend.")
@click.option("--exclude-seen", is_flag=True, help="Leave out items already in the session.")
@click.option("--category", default=None, help="Only items of this category (with --placement category_page).")
@click.option(
    "--placement",
    type=click.Choice(["product_page", "category_page", "cart", "home"]),
    default=None,
    help="Where the answer is shown: decides what it leaves out (a product page, the item being viewed).",
)
def recommend(items: str, k: int, exclude_seen: bool, category: str | None, placement: str | None) -> None:
    """Ask the served model for recommendations."""
    from kaizen.errors import ModelServerError
    from kaizen.serving.client import ModelServerClient

    try:
        answer = ModelServerClient(_settings().model_server_url).recommend(
            [i.strip() for i in items.split(",") if i.strip()], k, exclude_seen, category=category, placement=placement
        )
    except ModelServerError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps({"model_version": answer.model_version, "items": answer.items, "scores": answer.scores}))


@main.command()
@click.option(
    "--train",
    "train_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Training events (or all events: the last --test-days become the test set).",
)
@click.option(
    "--test",
    "test_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Test events, when the data comes split.",
)
@click.option("--format", "fmt", required=True, type=click.Choice(["retailrocket", "sessionrec", "diginetica", "otto"]))
@click.option(
    "--model",
    default=DEFAULT_FAMILY,
    show_default=True,
    help="Model family (popularity, markov, sr, vsknn, stan, vstan, slist), or auto: the best on validation.",
)
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="A model parameter; repeatable.")
@click.option("--test-days", default=2.0, show_default=True, help="Test window when only --train is given.")
@click.option(
    "--tune",
    type=click.IntRange(min=1),
    metavar="BUDGET",
    help="Search parameters first: up to BUDGET trials per family on a validation window (never the test set).",
)
@click.option("--tune-seconds", type=click.FloatRange(min=1), help="Stop starting trials after this long.")
def evaluate(
    train_path: Path,
    test_path: Path | None,
    fmt: str,
    model: str,
    params: tuple[str, ...],
    test_days: float,
    tune: int | None,
    tune_seconds: float | None,
) -> None:
    """Score a model offline as the session-based recommendation literature does; JSON out."""
    from kaizen.training.protocol import evaluate_files

    if tune_seconds and not tune:
        raise click.UsageError("--tune-seconds needs --tune")
    if tune:
        logging.getLogger("kaizen.training.tuning").setLevel(logging.INFO)  # a trial per line: the progress
    try:
        metrics = evaluate_files(
            fmt, train_path, test_path, model, dict(_parse_param(p) for p in params), test_days, tune, tune_seconds
        )
    except (ValueError, TypeError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(metrics, indent=2))


def _parse_param(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep:
        raise click.BadParameter(f"{text!r} is not KEY=VALUE", param_hint="--param")
    for convert in (int, float):
        try:
            return key, convert(value)
        except ValueError:
            pass
    return key, {"true": True, "false": False}.get(value.lower(), value)


@main.group()
def shop() -> None:
    """The shop's database: check what Kaizen would read; load or generate a demo shop."""


@shop.command("check")
@click.option("--days", default=7, show_default=True, help="How many of the newest days to show.")
def shop_check(days: int) -> None:
    """Check the mapping and the login against the shop's database; show what a run would read."""
    from kaizen.ingest.check import check_shop

    result = check_shop(_settings(), days)
    click.echo(result.render())
    if not result.ok:
        sys.exit(1)


def _demo_shop_url() -> str:
    """The demo shop's owner login: set, or the embedded stack's (derived from its secrets)."""
    settings = _settings()
    if settings.demo_shop_db_url:
        return settings.demo_shop_db_url
    from kaizen.stack import embedded

    return embedded.resolve(settings).settings.demo_shop_db_url


@shop.command("load")
@click.option("--format", "fmt", required=True, type=click.Choice(["retailrocket", "sessionrec", "diginetica", "otto"]))
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def shop_load(fmt: str, path: Path) -> None:
    """Append a public event log's events to the demo shop's database."""
    from kaizen.shop.loaders import load

    click.echo(json.dumps(load(_demo_shop_url(), fmt, path)))


@shop.command("generate")
@click.option("--events", required=True, type=int, help="About how many events (10k to 50M).")
@click.option("--seed", default=0, show_default=True, help="Same seed, same shop.")
@click.option("--days", default=30, show_default=True, help="Days the events span.")
@click.option("--start", default="2026-01-01", show_default=True, help="First day (UTC).")
@click.option(
    "--drift-day", type=int, default=None, help="From this day on, popularity shifts and a new category arrives."
)
def shop_generate(events: int, seed: int, days: int, start: str, drift_day: int | None) -> None:
    """Stream a synthetic shop with realistic structure into the demo shop's database."""
    from datetime import datetime

    from kaizen.shop.generator import ShopSpec
    from kaizen.shop.loaders import load_generated

    spec = ShopSpec(
        events=events,
        seed=seed,
        days=days,
        drift_day=drift_day,
        start=datetime.fromisoformat(start).replace(tzinfo=UTC),
    )
    with click.progressbar(length=events, label="generating", show_pos=True) as bar:
        done = [0]

        def progress(total: int) -> None:
            bar.update(total - done[0])
            done[0] = total

        result = load_generated(_demo_shop_url(), spec, progress)
    click.echo(json.dumps(result))


@main.group()
def db() -> None:
    """Kaizen's own database (quarantine, prediction log, ingestion bookkeeping)."""


@db.command("migrate")
def db_migrate() -> None:
    """Create or update Kaizen's tables; lets the model server's role insert prediction rows."""
    from kaizen import database

    settings = _settings()
    if not settings.kaizen_db_url:
        raise click.ClickException("set KAIZEN_DB_URL (Kaizen's own database)")
    applied = database.migrate(settings.kaizen_db_url, settings.serving_db_role, settings.dashboard_db_role)
    click.echo(f"applied {', '.join(applied)}" if applied else "up to date")


@main.command()
@click.option("--run-id", default=None, help="Recorded with the results; default: manual__ and the time.")
def monitor(run_id: str | None) -> None:
    """Measure online quality and drift now, as monitor_recommender's first task does; print the summary."""
    from datetime import datetime

    from kaizen.monitoring.monitor import monitor as measure

    run_id = run_id or f"manual__{datetime.now(UTC).isoformat(timespec='seconds')}"
    click.echo(json.dumps(measure(_settings(), run_id), indent=2, default=str))


@main.command()
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here, not to stdout.")
@click.option(
    "--check",
    "only",
    multiple=True,
    type=click.Choice([c.id for c in CRITERIA]),
    help="Only this criterion; repeatable.",
)
@click.option("--log", "log_run", is_flag=True, help="Also log the report to MLflow, as the maturity_report DAG does.")
def maturity(fmt: str, output: Path | None, only: tuple[str, ...], log_run: bool) -> None:
    """Where the platform stands on Google's, Microsoft's and John et al.'s MLOps maturity
    models, from evidence read off the running services. Exits 1 when a --check does not hold."""
    from kaizen.maturity import sources
    from kaizen.maturity.assessment import assess
    from kaizen.maturity.report import render

    if log_run and only:
        raise click.UsageError("--log logs whole assessments only: drop --check")
    settings = _settings()
    assessment = assess(sources(settings, _airflow_admin(settings)), only)
    text = render(assessment, fmt)
    if output:
        output.write_text(text)
        click.echo(f"wrote {output}")
    else:
        click.echo(text)
    if log_run:
        from kaizen.maturity.tracking import log_assessment

        click.echo(f"logged to MLflow run {log_assessment(settings, assessment)}", err=True)
    if only and not all(f.holds for f in assessment.findings):
        sys.exit(1)


@main.group()
def handover() -> None:
    """Models and data between partners, as verifiable bundles (a SHA-256 manifest)."""


@handover.command("export")
@click.option("--version", default=None, help="Registered version; default: the current @champion.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: KAIZEN_HANDOVER_DIR.")
@click.option("--producer", default="", help="Who exports (recorded as provenance); default: user@host.")
def handover_export(version: str | None, output: Path | None, producer: str) -> None:
    """Bundle a registered model: artifact, signature, features, data schema and digest, metrics,
    evaluation protocol, environment lock, model card, provenance."""
    from kaizen.handover.export import export_model

    click.echo(export_model(_settings(), version, output, producer).note)


@handover.command("snapshot")
@click.option("--days", default=14, show_default=True, type=click.IntRange(min=1), help="Newest days of events.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: KAIZEN_HANDOVER_DIR.")
@click.option("--producer", default="", help="Who exports (recorded as provenance); default: user@host.")
def handover_snapshot(days: int, output: Path | None, producer: str) -> None:
    """Bundle the lake's newest days and the feature definitions, for a partner to train on."""
    from kaizen.handover.export import export_snapshot

    click.echo(export_snapshot(_settings(), days, output, producer).note)


SHA256_OPTION = click.option(
    "--sha256", "expected", default=None, help="The manifest's SHA-256 the partner sent by another channel."
)


@handover.command("verify")
@click.argument("bundle", type=click.Path(exists=True, path_type=Path))
@SHA256_OPTION
def handover_verify(bundle: Path, expected: str | None) -> None:
    """Check a model bundle's integrity and that it fits this platform; registers nothing."""
    import tempfile

    from kaizen.errors import HandoverRefused
    from kaizen.handover import compatibility
    from kaizen.handover.bundle import open_bundle

    with tempfile.TemporaryDirectory() as tmp:
        try:
            verified = open_bundle(bundle, Path(tmp), expected)
            model = compatibility.check(_settings(), verified)
        except HandoverRefused as exc:
            raise click.ClickException(f"refused: {exc}") from exc
    click.echo(f"ok: {model.kind} model, manifest SHA-256 {verified.digest}")


@handover.command("import")
@click.argument("bundle", type=click.Path(exists=True, path_type=Path))
@SHA256_OPTION
def handover_import(bundle: Path, expected: str | None) -> None:
    """Verify a model bundle, register it with its provenance, and run the gate on this
    platform's own test window (the handover_import DAG does the same in Airflow, where the
    gate waits for the kaizen_registry pool)."""
    from kaizen.errors import AlreadyRegistered, HandoverRefused
    from kaizen.handover.intake import import_bundle
    from kaizen.training.options import TrainOptions
    from kaizen.training.train import gate_candidate

    settings, options = _settings(), TrainOptions()
    try:
        candidate = import_bundle(settings, bundle, options, expected)
    except HandoverRefused as exc:
        raise click.ClickException(f"refused: {exc}") from exc
    except AlreadyRegistered as exc:
        click.echo(f"nothing to do: {exc}")
        return
    click.echo(candidate.note)
    click.echo(gate_candidate(settings, options, candidate).as_dict()["note"])


def _airflow_admin(settings: Settings):
    """On the embedded stack, without KAIZEN_AIRFLOW_API_PASSWORD: its admin's login (None elsewhere)."""
    from kaizen.airflow_api import AirflowClient, AirflowError
    from kaizen.config import airflow_api_password
    from kaizen.stack.airflow import ADMIN_USER, password_file

    path = password_file(settings)
    if airflow_api_password() or not path.exists():
        return None
    try:
        return AirflowClient.from_password_file(settings.airflow_url, ADMIN_USER, path)
    except (AirflowError, OSError):
        return None  # reported as the Airflow criteria's "could not be checked"


@main.group()
def scenario() -> None:
    """Scenarios that exercise the whole platform on a stack of their own."""


@scenario.command("drift")
@click.option("--events", default=300_000, show_default=True, help="Events of the generated shop.")
@click.option("--days", default=14, show_default=True, help="Days the shop spans.")
@click.option("--drift-day", default=9, show_default=True, help="Day the popularity shifts and a category arrives.")
@click.option("--first-served-day", default=7, show_default=True, help="Days before it train the first version.")
@click.option("--seed", default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the timeline as JSON.")
def scenario_drift(events: int, days: int, drift_day: int, first_served_day: int, seed: int, as_json: bool) -> None:
    """Drift on day D: monitoring flags it, retraining starts by itself, quality recovers.

    Needs an embedded stack with an empty shop and paused DAGs, so that no scheduled run joins
    in (`KAIZEN_HOME=/tmp/drift KAIZEN_START_PAUSED=true kaizen up`); prints the timeline, one
    line a day.
    """
    from kaizen.monitoring.scenario import ScenarioSpec, as_records, run
    from kaizen.stack import embedded

    spec = ScenarioSpec(events, days, drift_day, first_served_day, seed)
    timeline = run(embedded.resolve(_settings()).settings, spec, click.echo)
    if as_json:
        click.echo(json.dumps(as_records(timeline), indent=2))


if __name__ == "__main__":
    main()
