"""Registry: the MLflow model package, registration and the @champion alias."""
