#!/usr/bin/env bash
# One database and one least-privilege role per component, as `kaizen up` provisions them.
set -euo pipefail
for component in shop airflow mlflow feast; do
  var="KAIZEN_$(echo "$component" | tr a-z A-Z)_DB_PASSWORD"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v role="$component" -v password="${!var}" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'role', :'role') \gexec
SQL
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$component" \
    -c "ALTER SCHEMA public OWNER TO \"$component\""
done
