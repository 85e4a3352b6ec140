"""What a training run shows a person: HR@K curves, coverage and popularity bias, a model card."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: Airflow workers have no display

import matplotlib.pyplot as plt
import numpy as np

from kaizen.registry.gate import GateDecision
from kaizen.training.lineage import Lineage

MAX_K = 20


def close(figure) -> None:
    plt.close(figure)


def hit_rate_curves(ranks: dict[str, np.ndarray]):
    """HR@K for K = 1..20, one line per model (e.g. challenger and champion). Each model has its own
    line style and marker, and its HR@20 in the legend: equal models still show as two lines."""
    fig, ax = plt.subplots(figsize=(6, 4))
    ks = np.arange(1, MAX_K + 1)
    styles = [("-", "o", 6), ("--", "s", 4), (":", "^", 4)]
    for (label, r), (line, marker, size) in zip(ranks.items(), styles, strict=False):
        hits = [(r < k).mean() if len(r) else 0.0 for k in ks]
        ax.plot(
            ks,
            hits,
            linestyle=line,
            marker=marker,
            markersize=size,
            markerfacecolor="none" if line != "-" else None,
            label=f"{label}: HR@20 {hits[-1]:.3f}",
        )
    ax.set_xlabel("K")
    ax.set_ylabel("HR@K")
    ax.set_title("Hit rate at K on the test window")
    ax.set_xticks([1, 5, 10, 15, 20])
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def bias_chart(metrics: dict[str, dict[str, float]], k: int = 20):
    """Coverage@K and Popularity@K side by side: a model can win HR by pushing bestsellers."""
    fig, axes = plt.subplots(1, 2, figsize=(7, 3.5))
    labels = list(metrics)
    for ax, key, title in zip(
        axes, (f"coverage_{k}", f"popularity_{k}"), (f"Coverage@{k}", f"Popularity@{k}"), strict=True
    ):
        values = [metrics[label].get(key, float("nan")) for label in labels]
        ax.bar(labels, values, color=["tab:blue", "tab:orange", "tab:green"][: len(labels)])
        ax.set_title(title)
        ax.set_ylim(0, max(1e-9, np.nanmax(values)) * 1.2 if len(values) else 1)
        for i, v in enumerate(values):
            ax.text(i, v, f"{v:.3f}", ha="center", va="bottom")
    fig.tight_layout()
    return fig


def model_card(name: str, version: str, lineage: Lineage, metrics: dict[str, float], decision: GateDecision) -> str:
    """Markdown for a person deciding whether to trust ``name`` v``version``: what it was made from,
    how it scored and why the gate promoted it or not."""
    rows = "\n".join(f"| {key} | {value:.4f} |" for key, value in sorted(metrics.items()) if isinstance(value, float))
    window = lineage.window
    return f"""# Model card: {name} v{version}

**Gate decision: {"promoted to @champion" if decision.promote else "kept as @challenger"}.** {decision.reason}

| | |
|---|---|
| model family | `{lineage.family}` |
| parameters | `{lineage.params}` |
| training window | {window.train_start} to {window.test_start} \
({window.train_sessions} sessions, {window.items} items) |
| test window | {window.test_start} to {window.end} ({window.test_predictions} predictions) |
| data digest | `{window.digest}` |
| feature service | `{lineage.feature_service}` |
| code version | `{lineage.code_version}` |

## Test metrics (every position of every test session predicts the next item)

| metric | value |
|---|---|
{rows}

{_comparison(decision)}## Intended use and limits

Next-item recommendations for a shopper's current session ("you may also like").
Trained on views only; items first seen after the training window cannot be recommended
until the next training run; the popularity list answers sessions of unknown items.
"""


def _comparison(decision: GateDecision) -> str:
    """The card's section comparing with the champion it was gated against; none for the first."""
    if decision.champion is None:
        return ""
    rows = "\n".join(
        f"| {key} | {decision.challenger[key]:.4f} | {decision.champion.get(key, float('nan')):.4f} |"
        for key in ("hr_20", "mrr_20", "ndcg_20", "coverage_20", "popularity_20")
        if key in decision.challenger
    )
    return f"""## Against the champion (v{decision.champion_version}), same test window

| metric | this version | champion |
|---|---|---|
{rows}

"""
