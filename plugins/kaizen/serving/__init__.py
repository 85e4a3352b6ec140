"""Serving: the Seldon model server that follows the registry's @champion, and its clients.

Modules here that the model server imports run in the serving environment (seldon-core,
numpy 1.26, requests; no mlflow, pandas or Airflow).
"""
