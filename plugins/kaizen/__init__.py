"""Kaizen: an Airflow MLOps platform for session-based product recommendations.

Stages, one subpackage each, in the order data flows: shop (the source database), ingest,
features, training (with models, the recommenders), registry, serving; stack runs them all
on one machine and cli is the command line. Imports run one way, from the stack down to the
shared modules (config, errors, lake, db_urls, datasets): see ``[tool.importlinter]`` in
pyproject.toml.
"""
