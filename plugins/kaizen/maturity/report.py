"""An assessment as people read it: a terminal table, Markdown (the README, a pull request),
a standalone HTML page (MLflow's artifact view) and JSON (anything that parses it)."""

from __future__ import annotations

import html
import json

from kaizen.maturity.assessment import Assessment
from kaizen.maturity.criteria import BY_ID
from kaizen.maturity.evidence import HOLDS, UNKNOWN
from kaizen.maturity.frameworks import FRAMEWORKS

MARKS = {HOLDS: "yes", UNKNOWN: "?"}
FORMATS = ("table", "markdown", "html", "json")
LEGEND = "Levels: G = Google Cloud (0-2), A = Microsoft Azure (0-4), J = John et al. (0 Ad hoc - 4 Kaizen)."


def mark(status: str) -> str:
    return MARKS.get(status, "no")


def levels(criterion: str) -> str:
    """ "G1 A2 J3": the criterion's level on Google's, Azure's and John et al.'s model."""
    return " ".join(f"{f.key[0].upper()}{BY_ID[criterion].levels[f.key]}" for f in FRAMEWORKS)


def stages(assessment: Assessment) -> list[str]:
    if not assessment.complete:
        return ["Stages: not placed, as only some criteria were checked"]
    return [f"Stage on {f.name}: {f.label(assessment.stage(f))}" for f in FRAMEWORKS]


def table(assessment: Assessment) -> str:
    """Fixed-width, for a terminal: one row per criterion with its first evidence line."""
    width = max(len(BY_ID[f.criterion].title) for f in assessment.findings)
    rows = [f"{'':3}  {'criterion':{width}}  {'levels':8}  evidence"]
    for finding in assessment.findings:
        title = BY_ID[finding.criterion].title
        rows.append(f"{mark(finding.status):3}  {title:{width}}  {levels(finding.criterion):8}  {finding.evidence[0]}")
        rows.extend(f"{'':3}  {'':{width}}  {'':8}  {line}" for line in finding.evidence[1:])
    lines = [f"MLOps maturity of {assessment.platform['model']} at {assessment.assessed_at:%Y-%m-%d %H:%M} UTC", ""]
    lines += [*rows, "", *stages(assessment)]
    lines += ["", "Next steps:", *_steps(assessment)] if assessment.complete else []
    lines += ["", LEGEND]
    return "\n".join(lines)


def _steps(assessment: Assessment) -> list[str]:
    """The next steps, numbered (an assessment of every criterion only)."""
    steps = [f"{c.title}: {c.step}" for c in assessment.next_steps()] or ["none: every criterion holds"]
    return [f"{i}. {step}" for i, step in enumerate(steps, 1)]


def markdown(assessment: Assessment) -> str:
    lines = [
        f"# MLOps maturity of `{assessment.platform['model']}`",
        "",
        f"Assessed {assessment.assessed_at:%Y-%m-%d %H:%M} UTC from the running platform "
        f"(Airflow {assessment.platform['airflow']}, MLflow {assessment.platform['mlflow']}).",
        "",
        *(f"- **{line}**" for line in stages(assessment)),
        "",
        "| | Criterion | Levels | Evidence | Check again |",
        "|---|---|---|---|---|",
    ]
    for finding in assessment.findings:
        criterion = BY_ID[finding.criterion]
        evidence = "<br>".join(_md(line) for line in finding.evidence)
        cells = [mark(finding.status), criterion.title, levels(criterion.id), evidence, f"`{criterion.recheck}`"]
        lines.append(f"| {' | '.join(cells)} |")
    lines += ["", "Next steps:", "", *_steps(assessment)] if assessment.complete else []
    lines += [""]
    lines.append(LEGEND)
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


STYLE = """body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.4em .6em;vertical-align:top;text-align:left}
.holds{background:#e6f4ea}.fails{background:#fce8e6}.unknown{background:#fef7e0}code{font-size:12px}"""


def html_page(assessment: Assessment) -> str:
    e = html.escape
    rows = []
    for finding in assessment.findings:
        criterion = BY_ID[finding.criterion]
        links = "".join(f'<br><a href="{e(url)}">{e(label)}</a>' for label, url in finding.links)
        rows.append(
            f'<tr class="{finding.status}"><td>{e(finding.status)}</td><td>{e(criterion.title)}</td>'
            f"<td>{e(levels(criterion.id))}</td><td>{'<br>'.join(e(line) for line in finding.evidence)}{links}</td>"
            f"<td><code>{e(criterion.recheck)}</code></td></tr>"
        )
    steps = (
        "".join(f"<li>{e(line.split('. ', 1)[1])}</li>" for line in _steps(assessment)) if assessment.complete else ""
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>MLOps maturity</title><style>{STYLE}</style>"
        f"</head><body><h1>MLOps maturity of {e(assessment.platform['model'])}</h1>"
        f"<p>Assessed {assessment.assessed_at:%Y-%m-%d %H:%M} UTC.</p>"
        f"<ul>{''.join(f'<li><b>{e(line)}</b></li>' for line in stages(assessment))}</ul>"
        "<table><tr><th></th><th>Criterion</th><th>Levels</th><th>Evidence</th><th>Check again</th></tr>"
        f"{''.join(rows)}</table>{f'<h2>Next steps</h2><ol>{steps}</ol>' if steps else ''}"
        f"<p>{e(LEGEND)}</p>"
        "</body></html>"
    )


def as_json(assessment: Assessment) -> str:
    return json.dumps(assessment.as_dict(), indent=2, default=str)


RENDERERS = {"table": table, "markdown": markdown, "html": html_page, "json": as_json}


def render(assessment: Assessment, fmt: str) -> str:
    return RENDERERS[fmt](assessment)
