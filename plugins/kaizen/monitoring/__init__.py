"""Monitoring: online quality of the served model, drift, alerts and self-started retraining."""
