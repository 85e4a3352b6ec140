#!/usr/bin/env bash
# Builds local stand-ins for the public images the compose stack names (PostgreSQL, Redis, the
# StatsD exporter, Python, Airflow's base) from Debian's packages and PyPI, for machines that
# cannot pull from a registry. Images are tagged localhost/kaizen-standin/*; a rebuild reuses
# the engine's layer cache. Prints the variables that point docker-compose.yml at them.
#
#   tests/compose/standins/build.sh > standins.env
set -euo pipefail
engine="${KAIZEN_CONTAINER_ENGINE:-podman}"
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
prefix=localhost/kaizen-standin
ca_bundle="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"

if ! "$engine" image exists "$prefix/debootstrap:bookworm" 2>/dev/null; then
  command -v debootstrap >/dev/null || { echo "build.sh: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
  rootfs="$(mktemp -d)"
  trap 'rm -rf "$rootfs"' EXIT
  echo "standins: debootstrap bookworm (about a minute) ..." >&2
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
  tar -C "$rootfs" -c . | "$engine" import - "$prefix/debootstrap:bookworm" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
fi

context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
cp "$here"/*.Dockerfile "$here"/*.sh "$here"/*.py "$context/"
cp "$ca_bundle" "$context/host-ca.crt"
# apache-airflow's dependencies at the orchestration lock's versions (plain name==version lines).
grep -E '^[A-Za-z0-9_.-]+==' "$repo/requirements/orchestration.lock" > "$context/airflow-constraints.txt"

build() {  # build NAME TAG
  echo "standins: $2 ..." >&2
  "$engine" build --quiet --file "$context/$1.Dockerfile" --tag "$prefix/$2" "$context" >/dev/null
}
build debian debian:bookworm
build python python:3.11
build postgres postgres:15
build redis redis:7
build statsd-exporter statsd-exporter:standin
build airflow airflow:3.3.2

cat <<VARS
KAIZEN_POSTGRES_IMAGE=$prefix/postgres:15
KAIZEN_REDIS_IMAGE=$prefix/redis:7
KAIZEN_STATSD_EXPORTER_IMAGE=$prefix/statsd-exporter:standin
KAIZEN_PYTHON_BASE_IMAGE=$prefix/python:3.11
KAIZEN_AIRFLOW_BASE_IMAGE=$prefix/airflow:3.3.2
VARS
