# syntax=docker/dockerfile:1
# MLflow tracking server with basic auth and the artifact proxy, on PostgreSQL (local volume or
# S3/MinIO artifacts). Runs as the non-root `mlflow` user. Build context: the repository root.
# PYTHON_BASE_IMAGE names the base, for a company that pulls through its own registry mirror.
ARG PYTHON_BASE_IMAGE=python:3.11-slim-bookworm
# checkov:skip=CKV_DOCKER_7: the tag is pinned in the ARG's default above
FROM ${PYTHON_BASE_IMAGE}

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false

COPY infra/docker/mlflow-image.txt /opt/kaizen/requirements/mlflow-image.txt
RUN pip install --no-cache-dir -r /opt/kaizen/requirements/mlflow-image.txt \
    && pip check \
    && useradd --create-home --uid 1000 --user-group mlflow \
    && install -d -o mlflow -g mlflow /mlartifacts
COPY --chmod=0755 infra/docker/mlflow_server.py infra/docker/mlflow_users.py /opt/kaizen/bin/

USER mlflow
WORKDIR /home/mlflow
EXPOSE 5000
# /health needs no credentials under basic auth. No curl in the image: Python asks.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=10 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/health', timeout=4)"]
ENTRYPOINT ["python", "/opt/kaizen/bin/mlflow_server.py"]
