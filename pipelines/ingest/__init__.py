"""Ingestion: landing files -> `raw.<source>__<entity>`, with the ledger and quarantine.

Light to import (the DAG file reads the source list from here); the loaders live in `run`.
"""
