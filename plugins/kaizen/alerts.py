"""Alerts: what an operator must hear about without watching a dashboard.

Each alert is logged and, when ``KAIZEN_ALERT_WEBHOOK_URL`` is set, POSTed as Slack-compatible
JSON (``text`` for Slack, Mattermost and most chat tools; ``kaizen`` with the details for
anything that parses it). Sending retries briefly on 429 and 5xx; an alert that still cannot
be delivered is logged as an error and never fails the work that raised it.
"""

from __future__ import annotations

import logging

import requests
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from kaizen.config import alert_webhook_url

log = logging.getLogger(__name__)

# failed_run: an Airflow task failed for good; rollback: a roll-out was undone; drift and
# quality_drop: monitoring's verdicts; feature_fallbacks: answers served without fresh features.
KINDS = ("failed_run", "rollback", "drift", "quality_drop", "feature_fallbacks")
TIMEOUT_S = 10
RETRY_STATUSES = (429, 500, 502, 503, 504)


def send(kind: str, summary: str, details: dict | None = None, url: str | None = None) -> bool:
    """Log ``summary`` and post it to the webhook; True when a webhook accepted it."""
    if kind not in KINDS:
        raise ValueError(f"unknown alert kind {kind!r}; one of {', '.join(KINDS)}")
    text = f"[kaizen] {kind}: {summary}"
    log.warning("%s", text)
    url = alert_webhook_url() if url is None else url
    if not url:
        return False
    body = {"text": text, "kaizen": {"kind": kind, "summary": summary, "details": details or {}}}
    try:
        _post(url, body)
        return True
    except requests.RequestException as exc:
        # Not the message: it can quote the URL, and a webhook's URL is its password.
        status = exc.response.status_code if exc.response is not None else "no answer"
        log.error("alert %s not delivered to the webhook: %s (%s)", kind, type(exc).__name__, status)
        return False


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, requests.HTTPError):
        return exc.response is not None and exc.response.status_code in RETRY_STATUSES
    return isinstance(exc, requests.ConnectionError | requests.Timeout)


@retry(
    retry=retry_if_exception(_retryable),
    stop=stop_after_attempt(4),
    wait=wait_exponential(multiplier=0.5, max=4),
    reraise=True,
)
def _post(url: str, body: dict) -> None:
    requests.post(url, json=body, timeout=TIMEOUT_S).raise_for_status()
