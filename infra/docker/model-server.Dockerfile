# The Seldon Core 1 microservice around the kaizen recommender, in its own pinned environment.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 8888 seldon
COPY requirements/serving.lock /opt/kaizen/requirements/serving.lock
RUN pip install --no-cache-dir -r /opt/kaizen/requirements/serving.lock
COPY pyproject.toml README.md /opt/kaizen/
COPY plugins /opt/kaizen/plugins
RUN pip install --no-cache-dir --no-deps /opt/kaizen
USER seldon
EXPOSE 9000 5001 6000
HEALTHCHECK --interval=10s --timeout=3s --retries=30 CMD curl -fsS http://localhost:9000/health/ping || exit 1
CMD ["seldon-core-microservice", "kaizen.serving.seldon_model.SeldonRecommender", "--service-type", "MODEL", \
     "--http-port", "9000", "--grpc-port", "5001", "--metrics-port", "6000", "--workers", "1", "--threads", "8"]
