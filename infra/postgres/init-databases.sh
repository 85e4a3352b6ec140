#!/usr/bin/env bash
# One database and one least-privilege role per component, as `kaizen up` provisions them
# (kaizen.stack.postgres.provision): shop (the demo shop), airflow, mlflow (plus mlflow_auth,
# MLflow's basic-auth user store, owned by the same role), feast and kaizen (what Kaizen itself
# writes). Each role owns its database and the database's public schema; PUBLIC may neither
# connect to nor create temporary tables in it. Two logins own nothing: shop_reader (Kaizen's
# login to the shop: SELECT on its tables) and serving (the model server: inserts prediction rows);
# grafana (reads monitoring's tables) where KAIZEN_GRAFANA_DB_PASSWORD is given.
#
# Idempotent, so it serves twice:
#   - docker compose: mounted into /docker-entrypoint-initdb.d/ (runs once, on an empty volume);
#   - Kubernetes: the kaizen-db-init Job (infra/terraform/database.tf) runs it on every apply,
#     against the in-cluster server or an external one, with PGHOST/PGPORT/PGUSER/PGPASSWORD.
# Re-running resets each role's password to the given one and leaves data alone.
#
# Passwords come from KAIZEN_{SHOP,AIRFLOW,MLFLOW,FEAST,SHOP_READER,SERVING}_DB_PASSWORD and
# KAIZEN_DB_PASSWORD (kaizen's) and reach psql through \getenv (PostgreSQL 15+ client), never
# through its command line.
set -euo pipefail

admin="${POSTGRES_USER:-${PGUSER:-postgres}}"
prefix="${KAIZEN_DATABASE_PREFIX:-}"

psql_admin() {
  psql --quiet -v ON_ERROR_STOP=1 --no-psqlrc --username "$admin" "$@"
}

login() {  # login ROLE DATABASE PASSWORD_VARIABLE: a login role that may connect to DATABASE, nothing more
  local role="$1" database="$2" password_var="$3"
  if [ -z "${!password_var:-}" ]; then
    echo "init-databases: $password_var is empty; refusing to create role $role without a password" >&2
    exit 1
  fi
  psql_admin --dbname postgres -v role="$role" -v database="$database" -v password_var="$password_var" \
    -v owns="${owns:-no}" <<'SQL'
\getenv password :password_var
SELECT format('CREATE ROLE %I LOGIN', :'role')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', :'role', :'password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'role')
  WHERE :'owns' = 'yes' AND NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', :'database', :'role') \gexec
SQL
}

provision() {  # provision ROLE DATABASE PASSWORD_VARIABLE: ROLE owns DATABASE, only it may connect
  local role="$1" database="$2"
  owns=yes login "$@"
  psql_admin --dbname postgres -v role="$role" -v database="$database" <<'SQL'
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
provision "${prefix}kaizen" "${prefix}kaizen" KAIZEN_DB_PASSWORD
# MLflow's basic-auth users and permissions: a database of its own, owned by the mlflow role.
provision "${prefix}mlflow" "${prefix}mlflow_auth" "KAIZEN_MLFLOW_DB_PASSWORD"

# Kaizen reads the shop as shop_reader: SELECT on every table the shop's role has or will create.
login "${prefix}shop_reader" "${prefix}shop" KAIZEN_SHOP_READER_DB_PASSWORD
psql_admin --dbname "${prefix}shop" -v owner="${prefix}shop" -v reader="${prefix}shop_reader" <<'SQL'
SELECT format('GRANT USAGE ON SCHEMA public TO %I', :'reader') \gexec
SELECT format('GRANT SELECT ON ALL TABLES IN SCHEMA public TO %I', :'reader') \gexec
SELECT format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public GRANT SELECT ON TABLES TO %I', :'owner', :'reader') \gexec
SQL
echo "init-databases: role ${prefix}shop_reader may read ${prefix}shop"

# The model server's login: it may connect to Kaizen's database and, once Kaizen's migrations
# have run (`kaizen db migrate` grants it), insert prediction rows; nothing else.
login "${prefix}serving" "${prefix}kaizen" KAIZEN_SERVING_DB_PASSWORD
echo "init-databases: role ${prefix}serving may connect to ${prefix}kaizen"

# Grafana's login (compose profile monitoring): it may connect to Kaizen's database and, once
# the migrations have run, read monitoring's tables; nothing else. Only where Grafana runs.
if [ -n "${KAIZEN_GRAFANA_DB_PASSWORD:-}" ]; then
  login "${prefix}grafana" "${prefix}kaizen" KAIZEN_GRAFANA_DB_PASSWORD
  echo "init-databases: role ${prefix}grafana may connect to ${prefix}kaizen"
fi
