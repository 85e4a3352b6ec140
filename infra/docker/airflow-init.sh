#!/usr/bin/env bash
# One-off initialisation of the compose stack (the airflow-init service): migrate Airflow's
# metadata database and Kaizen's own, create the FAB auth manager's admin user (a no-op when it
# exists), then set its password to KAIZEN_AIRFLOW_ADMIN_PASSWORD so that .env stays the one
# source of truth.
set -euo pipefail
: "${KAIZEN_AIRFLOW_ADMIN_PASSWORD:?set KAIZEN_AIRFLOW_ADMIN_PASSWORD}"
user="${KAIZEN_AIRFLOW_ADMIN_USER:-admin}"

# PostgreSQL may still be initialising: wait for it rather than fail the one-off job.
airflow db check --retry "${KAIZEN_DB_WAIT_RETRIES:-150}" --retry-delay 2
airflow db migrate
python -m kaizen db migrate
# The password goes in on standard input (printf is a shell builtin): never on a command line,
# where `ps` would show it.
password_twice() { printf '%s\n%s\n' "$KAIZEN_AIRFLOW_ADMIN_PASSWORD" "$KAIZEN_AIRFLOW_ADMIN_PASSWORD"; }
admin_user() {
  password_twice | airflow users create --username "$user" --role Admin \
    --firstname Kaizen --lastname Admin --email "${KAIZEN_AIRFLOW_ADMIN_EMAIL:-admin@example.org}" \
  && password_twice | airflow users reset-password --username "$user"
}
# The api-server may be syncing the same FAB roles right now (it starts once migrations are
# done): a unique-key clash there is worth another try.
for attempt in 1 2 3 4 5; do
  admin_user && break
  [ "$attempt" = 5 ] && exit 1
  echo "airflow-init: creating the admin user failed (attempt $attempt); retrying in 5 s" >&2
  sleep 5
done
airflow version
