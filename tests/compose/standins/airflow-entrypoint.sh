#!/usr/bin/env bash
# Emulates apache/airflow's /entrypoint command dispatch: `bash` and `python` run as given,
# anything else is an `airflow` subcommand.
set -e
case "${1:-}" in
  "") exec airflow --help ;;
  bash | python | python3) exec "$@" ;;
  airflow) shift; exec airflow "$@" ;;
  *) exec airflow "$@" ;;
esac
