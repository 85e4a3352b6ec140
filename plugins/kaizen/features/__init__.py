"""Features: the lake's events and catalogue -> Feast's offline and online stores, and training sets.

Read in the order a refresh runs (``refresh``):

- ``tables``: each feature table's columns and types, declared once.
- ``engineering``: computes the tables from the lake and writes them as Parquet.
- ``definitions``: the Feast entity, views and versioned feature services over those tables.
- ``repo_config``: ``feature_store.yaml`` rendered from the settings; the ``FeatureStore``.
- ``registry_sync``: applies what changed in the definitions to Feast's registry.
- ``materialization``: which window of a table to write to the online store.
- ``training_sets``: point-in-time training rows (``kaizen.training`` reads them).

Materialisation's speed-ups, selected in ``feature_store.yaml``: ``materialize_engine``
(Feast's local engine writing whole columns), ``columns`` (the column encoding),
``columnar_writers`` and ``online_store`` (the PostgreSQL and Redis column writers).
"""
