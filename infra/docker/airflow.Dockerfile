# Airflow with the kaizen package: the official image plus the pinned orchestration lock.
FROM apache/airflow:3.3.2-python3.11
USER root
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
USER airflow
COPY --chown=airflow:root requirements/orchestration.lock /opt/kaizen/requirements/orchestration.lock
RUN pip install --no-cache-dir -r /opt/kaizen/requirements/orchestration.lock
COPY --chown=airflow:root pyproject.toml README.md /opt/kaizen/
COPY --chown=airflow:root plugins /opt/kaizen/plugins
RUN pip install --no-cache-dir --no-deps /opt/kaizen
COPY --chown=airflow:root dags /opt/airflow/dags
HEALTHCHECK --interval=30s --timeout=10s --retries=5 CMD airflow jobs check --local || exit 1
