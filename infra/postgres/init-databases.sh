#!/usr/bin/env bash
# One database and one least-privilege role per component, as `kaizen up` provisions them
# (kaizen.stack.postgres.provision): shop, airflow, mlflow (plus mlflow_auth, MLflow's
# basic-auth user store, owned by the same role) and feast. Each role owns its database and
# the database's public schema; PUBLIC may neither connect to nor create temporary tables in it.
#
# Idempotent, so it serves twice:
#   - docker compose: mounted into /docker-entrypoint-initdb.d/ (runs once, on an empty volume);
#   - Kubernetes: the kaizen-db-init Job (infra/terraform/database.tf) runs it on every apply,
#     against the in-cluster server or an external one, with PGHOST/PGPORT/PGUSER/PGPASSWORD.
# Re-running resets each role's password to the given one and leaves data alone.
#
# Passwords come from KAIZEN_{SHOP,AIRFLOW,MLFLOW,FEAST}_DB_PASSWORD and reach psql through
# \getenv (PostgreSQL 15+ client), never through its command line.
set -euo pipefail

admin="${POSTGRES_USER:-${PGUSER:-postgres}}"
prefix="${KAIZEN_DATABASE_PREFIX:-}"

psql_admin() {
  psql --quiet -v ON_ERROR_STOP=1 --no-psqlrc --username "$admin" "$@"
}

provision() {  # provision ROLE DATABASE PASSWORD_VARIABLE
  local role="$1" database="$2" password_var="$3"
  if [ -z "${!password_var:-}" ]; then
    echo "init-databases: $password_var is empty; refusing to create role $role without a password" >&2
    exit 1
  fi
  psql_admin --dbname postgres -v role="$role" -v database="$database" -v password_var="$password_var" <<'SQL'
\getenv password :password_var
SELECT format('CREATE ROLE %I LOGIN', :'role')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', :'role', :'password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'role')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database') \gexec
SELECT format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', :'database') \gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', :'database', :'role') \gexec
SQL
  # PostgreSQL 15 no longer lets every role create in public: the owner must own it.
  psql_admin --dbname "$database" -v role="$role" <<'SQL'
SELECT format('ALTER SCHEMA public OWNER TO %I', :'role') \gexec
SQL
  echo "init-databases: role $role owns database $database"
}

for component in shop airflow mlflow feast; do
  upper="$(echo "$component" | tr '[:lower:]' '[:upper:]')"
  provision "${prefix}${component}" "${prefix}${component}" "KAIZEN_${upper}_DB_PASSWORD"
done
# MLflow's basic-auth users and permissions: a database of its own, owned by the mlflow role.
provision "${prefix}mlflow" "${prefix}mlflow_auth" "KAIZEN_MLFLOW_DB_PASSWORD"

# The model server's login: it may connect to the shop database and, once the shop's migrations
# have run (kaizen.shop.schema.migrate grants it), insert prediction rows; nothing else.
if [ -z "${KAIZEN_SERVING_DB_PASSWORD:-}" ]; then
  echo "init-databases: KAIZEN_SERVING_DB_PASSWORD is empty; refusing to create role ${prefix}serving" >&2
  exit 1
fi
psql_admin --dbname postgres -v role="${prefix}serving" -v database="${prefix}shop" <<'SQL'
\getenv password KAIZEN_SERVING_DB_PASSWORD
SELECT format('CREATE ROLE %I LOGIN', :'role')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', :'role', :'password') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', :'database', :'role') \gexec
SQL
echo "init-databases: role ${prefix}serving may connect to ${prefix}shop"
