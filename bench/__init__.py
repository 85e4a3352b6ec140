"""Benchmarks: ``make bench`` runs them all, ``make bench-NAME`` one (``python -m bench NAME``).

Each ``bench/NAME.py`` has ``run() -> dict`` returning a flat dict of named figures, units
in the key names, with a reference measured in the same run so the ratio survives a noisy
machine. The runner writes it to ``bench/results/NAME.json``.
"""
