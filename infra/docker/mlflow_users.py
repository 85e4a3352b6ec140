"""Create the compose stack's MLflow users beyond the admin (the mlflow-init service).

The model server reads the registry as ``model-server`` (KAIZEN_MLFLOW_SERVING_PASSWORD),
never as the admin: with basic auth's default permission READ, that user can download
models and resolve ``@champion`` but cannot move an alias or change anything. Idempotent:
an existing user gets its password reset to the configured one, so .env stays the truth.
Waits for the server first: not every engine honours compose's health conditions.
"""

from __future__ import annotations

import os
import sys
import time

import requests

SERVING_USER = "model-server"


def wait_for(base: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if requests.get(f"{base}/health", timeout=3).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            sys.exit(f"mlflow-init: MLflow at {base} did not answer within {timeout_s:.0f} s")
        time.sleep(2)


def ensure_user(base: str, admin: tuple[str, str], username: str, password: str) -> str:
    """Create ``username`` or reset its password; which of the two it did."""
    api = f"{base}/api/2.0/mlflow/users"
    found = requests.get(f"{api}/get", params={"username": username}, auth=admin, timeout=10)
    if found.status_code == 200:
        response = requests.patch(
            f"{api}/update-password", json={"username": username, "password": password}, auth=admin, timeout=10
        )
        done = "password reset"
    else:
        response = requests.post(
            f"{api}/create", json={"username": username, "password": password}, auth=admin, timeout=10
        )
        done = "created"
    if response.status_code != 200:
        sys.exit(f"mlflow-init: {username}: {response.status_code} {response.text[:300]}")
    return done


def main() -> None:
    base = os.environ.get("MLFLOW_TRACKING_URI", "http://mlflow:5000").rstrip("/")
    admin = (os.environ.get("MLFLOW_AUTH_ADMIN_USERNAME") or "admin", os.environ["MLFLOW_AUTH_ADMIN_PASSWORD"])
    password = os.environ.get("KAIZEN_MLFLOW_SERVING_PASSWORD")
    if not password:
        sys.exit("mlflow-init: set KAIZEN_MLFLOW_SERVING_PASSWORD (see .env.example)")
    wait_for(base, float(os.environ.get("KAIZEN_MLFLOW_WAIT_S") or 600))
    print(f"mlflow-init: user {SERVING_USER} {ensure_user(base, admin, SERVING_USER, password)} (read-only)")


if __name__ == "__main__":
    main()
