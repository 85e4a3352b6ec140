"""Kaizen: an Airflow MLOps platform for session-based product recommendations.

Stages, one subpackage each: shop (the source database), ingest, features, training,
models, registry, serving, monitoring; stack runs them all on one machine.
"""
