"""The shop: the operational PostgreSQL database Kaizen ingests from (schema and loaders)."""
