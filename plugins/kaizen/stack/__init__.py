"""The embedded stack: PostgreSQL, MLflow, Airflow and the model server as local processes."""
