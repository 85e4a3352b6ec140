#!/usr/bin/env bash
# Health of the Airflow component this container runs: the image's HEALTHCHECK and compose's
# healthchecks call it. The component is $1, else read from PID 1's command line (the official
# image runs `dumb-init -- /entrypoint COMMAND`). One-off commands (airflow-init) report healthy.
set -uo pipefail

component="${1:-}"
if [ -z "$component" ]; then
  cmdline="$(tr '\0' ' ' < /proc/1/cmdline 2>/dev/null || true)"
  case "$cmdline" in
    *api-server*) component=api-server ;;
    *dag-processor*) component=dag-processor ;;
    *scheduler*) component=scheduler ;;
    *triggerer*) component=triggerer ;;
    *"celery worker"*) component=celery-worker ;;
    *) component=none ;;
  esac
fi

case "$component" in
  api-server)
    exec curl --fail --silent --show-error --max-time 8 --output /dev/null \
      "http://localhost:${AIRFLOW__API__PORT:-8080}/api/v2/monitor/health" ;;
  scheduler)
    exec curl --fail --silent --show-error --max-time 8 --output /dev/null \
      "http://localhost:${AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT:-8974}/health" ;;
  dag-processor)
    exec airflow jobs check --job-type DagProcessorJob --local ;;
  triggerer)
    exec airflow jobs check --job-type TriggererJob --local ;;
  celery-worker)
    exec celery --app airflow.providers.celery.executors.celery_executor.app inspect ping \
      --destination "celery@${HOSTNAME}" --timeout 8 ;;
  none)
    exit 0 ;;
  *)
    echo "airflow-healthcheck: unknown component '$component'" >&2
    exit 2 ;;
esac
