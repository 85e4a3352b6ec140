# MLflow tracking server with the artifact proxy, on PostgreSQL.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 mlflow
RUN pip install --no-cache-dir "mlflow[auth]==3.17.2" "psycopg2-binary==2.9.13"
USER mlflow
WORKDIR /home/mlflow
EXPOSE 5000
HEALTHCHECK --interval=15s --timeout=5s --retries=10 CMD curl -fsS http://localhost:5000/health || exit 1
ENV MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false
CMD ["sh", "-c", "mlflow server --backend-store-uri \"$(echo $KAIZEN_MLFLOW_DB_URL | sed 's#^postgresql://#postgresql+psycopg2://#')\" --serve-artifacts --artifacts-destination /mlartifacts --host 0.0.0.0 --port 5000 --allowed-hosts 'mlflow:5000,localhost:5000,127.0.0.1:5000'"]
