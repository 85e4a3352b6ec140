"""Ingestion: the shop's events, extracted by time interval into the partitioned Parquet lake."""
