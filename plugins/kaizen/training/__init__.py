"""Training: the lake's sessions -> a fitted, evaluated, registered and gated model version.

Read in the order ``train.train`` and then ``train.gate_candidate`` run them:

- ``options``: what a run is asked to do, checked when built.
- ``dataset``: the lake's window, split by time into training and test sessions.
- ``item_features``: point-in-time item features from Feast (the models' popularity).
- ``tuning``: the family and its parameters, chosen on a validation window (never the test window).
- ``evaluation``: next-item metrics on the test sessions.
- ``lineage``: what the version is made from: window, parameters, features, code.
- ``tracking``: what the run records in MLflow, the registered version included.
- ``champion_gate``: the champion scored on the same predictions; the gate's decision.
- ``report``: the plots and the model card a person reads.

``protocol`` scores models on public datasets with the same code (``kaizen evaluate``).
"""
