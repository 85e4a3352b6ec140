"""Models and data between partners, verifiably: ``export`` writes bundles (``bundle``: files,
what they are, a SHA-256 manifest); ``intake`` verifies one (``compatibility``), registers its
model as a challenger with its origin and leaves promotion to the regular gate.
"""
