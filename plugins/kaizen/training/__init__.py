"""Training: sessions from the lake, time-based splits, model fitting and evaluation."""
