#!/usr/bin/env bash
# Start an Airflow component (api-server, scheduler, ...) once its metadata database answers and
# airflow-init has migrated it. Not every engine honours compose's health conditions (podman 4
# ignores them), and a component that crashes on a missing database only comes back after the
# restart policy's back-off.
set -euo pipefail
airflow db check --retry "${KAIZEN_DB_WAIT_RETRIES:-150}" --retry-delay 2
airflow db check-migrations --migration-wait-timeout "${KAIZEN_MIGRATION_WAIT_S:-900}"
exec airflow "$@"
