"""The audit trail links a patient's calls without storing the patient id."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.persistence import patient_hash, record_audit
from service.persistence.models import HookAudit


def test_audit_row_holds_a_keyed_hash_not_the_id(factory: sessionmaker[Session]) -> None:
    for instance in ("hi-1", "hi-2"):
        record_audit(
            factory,
            secret="k1",
            service="bone-health-patient-view",
            hook_instance=instance,
            issuer="https://ehr.example",
            patient_id="patient-42",
            topics=["monitoring-overdue"],
            latency_ms=12.5,
            outcome="ok",
        )
    with factory() as session:
        rows = session.execute(select(HookAudit).order_by(HookAudit.id)).scalars().all()
    assert [r.hook_instance for r in rows] == ["hi-1", "hi-2"]
    assert rows[0].patient_hash == rows[1].patient_hash == patient_hash("k1", "patient-42")
    assert "patient-42" not in rows[0].patient_hash
    assert rows[0].topics == ["monitoring-overdue"] and rows[0].at.tzinfo is not None


def test_hash_depends_on_the_secret() -> None:
    assert patient_hash("k1", "p") != patient_hash("k2", "p")
    assert patient_hash("k1", "p") != patient_hash("k1", "q")
    assert len(patient_hash(b"k1", "p")) == 64
