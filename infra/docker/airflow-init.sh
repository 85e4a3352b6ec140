#!/usr/bin/env bash
# One-off initialisation of the compose stack (the airflow-init service): migrate Airflow's
# metadata database and Kaizen's own, create the pools and the FAB auth manager's users (admin, and the API user
# tasks write run notes as) or reset their passwords to .env's, which stays the one source of truth.
set -euo pipefail
: "${KAIZEN_AIRFLOW_ADMIN_PASSWORD:?set KAIZEN_AIRFLOW_ADMIN_PASSWORD}"
: "${KAIZEN_AIRFLOW_API_PASSWORD:?set KAIZEN_AIRFLOW_API_PASSWORD}"
user="${KAIZEN_AIRFLOW_ADMIN_USER:-admin}"

# PostgreSQL may still be initialising: wait for it rather than fail the one-off job.
airflow db check --retry "${KAIZEN_DB_WAIT_RETRIES:-150}" --retry-delay 2
airflow db migrate
python -m kaizen db migrate
# The admin operators log in as, and the API user tasks write run notes as (role User: DAG runs only).
AIRFLOW_USER_PASSWORD="$KAIZEN_AIRFLOW_ADMIN_PASSWORD" /opt/kaizen/bin/airflow-user "$user" Admin
AIRFLOW_USER_PASSWORD="$KAIZEN_AIRFLOW_API_PASSWORD" /opt/kaizen/bin/airflow-user "${KAIZEN_AIRFLOW_API_USER:-kaizen}" User
/opt/kaizen/bin/airflow-pools
airflow version
