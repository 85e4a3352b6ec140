"""What every Kaizen DAG shares: who owns it, how its tasks retry, how long one may run.

Retries are for what a retry can fix (a database restarting, a service still starting);
they back off so a struggling dependency is not hammered. A DAG whose task must not be
repeated blindly (a roll-out that rolled back) asks for none. Every task has a time limit,
so a hung read or a stuck service fails the run (and alerts) instead of holding a slot.
"""

from __future__ import annotations

from datetime import timedelta

OWNER = "kaizen"


def default_args(retries: int, timeout: timedelta, retry_delay: timedelta = timedelta(minutes=1)) -> dict:
    """A DAG's ``default_args``: the owner, ``retries`` with exponential back-off from
    ``retry_delay``, and ``timeout`` as every task's ``execution_timeout``."""
    return {
        "owner": OWNER,
        "retries": retries,
        "retry_delay": retry_delay,
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
        "execution_timeout": timeout,
    }
