#!/usr/bin/env bash
# Create or update one FAB auth manager user: airflow-user USERNAME ROLE, with the password in
# AIRFLOW_USER_PASSWORD (the environment, never a command line, where `ps` would show it).
# Idempotent: an existing user gets the password again, so the secret stays the one source of truth.
set -euo pipefail
username="${1:?usage: airflow-user USERNAME ROLE}"
role="${2:?usage: airflow-user USERNAME ROLE}"
: "${AIRFLOW_USER_PASSWORD:?set AIRFLOW_USER_PASSWORD}"

password_twice() { printf '%s\n%s\n' "$AIRFLOW_USER_PASSWORD" "$AIRFLOW_USER_PASSWORD"; }
ensure_user() {
  password_twice | airflow users create --username "$username" --role "$role" \
    --firstname Kaizen --lastname "$username" --email "${username}@example.org" \
  && password_twice | airflow users reset-password --username "$username"
}
# The api-server may be syncing the same FAB roles right now (it starts once migrations are
# done): a unique-key clash there is worth another try.
for attempt in 1 2 3 4 5; do
  ensure_user && exit 0
  [ "$attempt" = 5 ] && exit 1
  echo "airflow-user: creating $username failed (attempt $attempt); retrying in 5 s" >&2
  sleep 5
done
