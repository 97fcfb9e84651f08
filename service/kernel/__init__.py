"""The domain kernel: the patient record, findings, clinical thresholds and shared clinical values.

Plain typed Python that the rules and the card wording both build on. It imports nothing of the web,
the database, Celery, HTTP or the FHIR models (the import contracts in ``pyproject.toml`` hold it to that).
"""
