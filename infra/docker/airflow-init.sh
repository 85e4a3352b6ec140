#!/usr/bin/env bash
# One-off initialisation of the compose stack's Airflow (the airflow-init service): migrate the
# metadata database, create the FAB auth manager's admin user (a no-op when it exists), then set
# its password to KAIZEN_AIRFLOW_ADMIN_PASSWORD so that .env stays the one source of truth.
set -euo pipefail
: "${KAIZEN_AIRFLOW_ADMIN_PASSWORD:?set KAIZEN_AIRFLOW_ADMIN_PASSWORD}"
user="${KAIZEN_AIRFLOW_ADMIN_USER:-admin}"

airflow db migrate
airflow users create --username "$user" --password "$KAIZEN_AIRFLOW_ADMIN_PASSWORD" --role Admin \
  --firstname Kaizen --lastname Admin --email "${KAIZEN_AIRFLOW_ADMIN_EMAIL:-admin@example.org}"
airflow users reset-password --username "$user" --password "$KAIZEN_AIRFLOW_ADMIN_PASSWORD"
airflow version
