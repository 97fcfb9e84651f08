"""Kept for tests/service/reminders/test_scan.py only: the FHIR server is tests/fhir_server.py."""

from tests.fhir_server import FhirServer, running_fhir_server

__all__ = ["FhirServer", "running_fhir_server"]
