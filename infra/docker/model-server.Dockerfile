# syntax=docker/dockerfile:1
# The Seldon Core 1 microservice around the kaizen recommender, in its own pinned environment
# (seldon-core pins old Flask, numpy and protobuf). Runs as the non-root `seldon` user (uid 8888,
# Seldon's convention). Build context: the repository root.
# PYTHON_BASE_IMAGE names the base, for a company that pulls through its own registry mirror.
ARG PYTHON_BASE_IMAGE=python:3.11-slim-bookworm
# checkov:skip=CKV_DOCKER_7: the tag is pinned in the ARG's default above
FROM ${PYTHON_BASE_IMAGE}

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

COPY requirements/serving.lock /opt/kaizen/requirements/serving.lock
RUN pip install --no-cache-dir -r /opt/kaizen/requirements/serving.lock \
    && useradd --create-home --uid 8888 --user-group seldon
COPY pyproject.toml README.md /opt/kaizen/
COPY plugins /opt/kaizen/plugins
RUN pip install --no-cache-dir --no-deps /opt/kaizen && pip check

# Ports as in the embedded stack: REST 9000, gRPC 5001, metrics 6000 (GET /metrics). seldon-core
# reads them from these variables, which Seldon's operator overrides on Kubernetes.
ENV PREDICTIVE_UNIT_HTTP_SERVICE_PORT=9000 \
    PREDICTIVE_UNIT_GRPC_SERVICE_PORT=5001 \
    PREDICTIVE_UNIT_METRICS_SERVICE_PORT=6000 \
    KAIZEN_HOST=0.0.0.0 \
    GUNICORN_WORKERS=2 \
    GUNICORN_THREADS=1 \
    GRPC_WORKERS=1

USER seldon
WORKDIR /home/seldon
EXPOSE 9000 5001 6000
# Healthy while it waits for a first @champion; unhealthy when its item attributes went stale
# (a lost feature server or database) or it does not answer.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=30 \
    CMD python -m kaizen.serving.health "http://127.0.0.1:${PREDICTIVE_UNIT_HTTP_SERVICE_PORT}"
# seldon-core-microservice through kaizen's launcher, which binds to KAIZEN_HOST (all interfaces
# inside the container; the engine decides what is published).
CMD ["python", "-m", "kaizen.serving.microservice", "kaizen.serving.seldon_model.SeldonRecommender", "--service-type", "MODEL", "--log-level", "INFO"]
