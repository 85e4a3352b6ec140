"""Monitoring's findings where people look: the served version's MLflow run.

Online metrics are logged per business day (``step`` = days since 1970, ``timestamp`` = the
day), so MLflow's charts plot them over time next to the run's offline HR@20 and MRR@20; an
HTML report (plots, the drift table, the retraining verdict) is logged as
``monitoring/report-DAY.html``.
"""

from __future__ import annotations

import base64
import html
import io
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import Metric

from kaizen.config import Settings
from kaizen.monitoring.online_quality import METRICS
from kaizen.monitoring.retraining import RetrainDecision

if TYPE_CHECKING:
    from kaizen.monitoring.monitor import Verdict

PLOTTED = [("hr_at_20", "online HR@20"), ("mrr_at_20", "online MRR@20"), ("ctr", "click-through")]


def log_to_mlflow(settings: Settings, verdict: Verdict, history: pd.DataFrame, decision: RetrainDecision | None):
    client = MlflowClient(settings.mlflow_tracking_uri)
    run_id = client.get_model_version(settings.model_name, verdict.served_version).run_id
    mine = history[history["model_version"] == verdict.served_version]
    metrics = []
    for row in mine.itertuples(index=False):
        day = pd.Timestamp(row.day, tz="UTC")
        for name in METRICS:
            value = getattr(row, name)
            if value is not None and not pd.isna(value):
                metrics.append(Metric(f"online_{name}", float(value), int(day.timestamp() * 1000), day.toordinal()))
    for start in range(0, len(metrics), 1000):  # MLflow's batch limit
        client.log_batch(run_id, metrics=metrics[start : start + 1000])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"report-{verdict.newest_day}.html"
        path.write_text(render(settings, verdict, history, decision))
        client.log_artifact(run_id, str(path), "monitoring")


def render(settings: Settings, verdict: Verdict, history: pd.DataFrame, decision: RetrainDecision | None) -> str:
    """A self-contained page: the plots inline, then the tables."""
    rows = "".join(
        f"<tr><td>{c.statistic}</td><td>{c.value:.3f}</td><td>{c.threshold:g}</td>"
        f"<td>{'drift' if c.drifted else 'ok'}</td></tr>"
        for c in verdict.checks
    )
    if decision is None:
        retrain = "not needed"
    elif decision.emitted:
        retrain = f"started: {decision.reason}"
    else:
        retrain = f"held back ({decision.held_back_by}): {decision.reason}"
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in verdict.notes)
    recent = history.sort_values(["day", "model_version"]).tail(30)
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>{settings.model_name} v{verdict.served_version}: monitoring {verdict.newest_day}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}td,th{{padding:.2em .8em;text-align:right}}</style>
</head><body>
<h1>{html.escape(settings.model_name)} v{verdict.served_version}, {verdict.newest_day}</h1>
<p><img alt="online quality per day and version" src="data:image/png;base64,{_plot(history)}"></p>
<h2>Drift: {html.escape(verdict.current_days or "-")} against {html.escape(verdict.reference_days or "-")}</h2>
<table><tr><th>statistic</th><th>value</th><th>threshold</th><th></th></tr>{rows}</table>
<h2>Retraining</h2><p>{html.escape(retrain)}</p>
<ul>{notes}</ul>
<h2>Online quality, newest days</h2>
{recent.to_html(index=False, float_format=lambda v: f"{v:.4f}", na_rep="")}
</body></html>"""


def _plot(history: pd.DataFrame) -> str:
    figure, axes = plt.subplots(1, len(PLOTTED), figsize=(12, 3.2), constrained_layout=True)
    for ax, (metric, title) in zip(axes, PLOTTED, strict=True):
        for version, rows in history.groupby("model_version", sort=False):
            ax.plot(pd.to_datetime(rows["day"]), rows[metric], marker="o", label=f"v{version}")
        ax.set_title(title)
        ax.tick_params(axis="x", labelrotation=45)
    axes[0].legend(title="version")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()
