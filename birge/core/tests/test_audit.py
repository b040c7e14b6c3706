import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from birge.core import audit
from birge.core.models import AuditEvent, Organization


@pytest.fixture
def org(reference):
    from birge.core.models import Territory

    return Organization.objects.create(kind="school", code="S1", name="School", territory=Territory.objects.get(code="41708222000000"))


def test_events_are_chained_and_verify(org, django_user_model):
    actor = django_user_model.objects.create_user("actor", password="x-123456789")
    before = audit.snapshot(org)
    org.name = "Renamed"
    org.save()
    e1 = audit.record_update(actor, org, before, reason="typo")
    e2 = audit.record_read(actor, org)
    assert e1.changes == {"name": ["School", "Renamed"]}
    assert e1.reason == "typo" and e1.actor_name == "actor"
    assert e2.prev_hash == e1.hash
    ok, checked, broken = audit.verify()
    assert ok and broken is None and checked == AuditEvent.objects.count()


def test_no_change_writes_no_event(org):
    assert audit.record_update(None, org, audit.snapshot(org)) is None


def test_orm_refuses_update_and_delete(org):
    evt = audit.record_create(None, org)
    with pytest.raises(PermissionError):
        evt.save()
    with pytest.raises(PermissionError):
        evt.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=evt.pk).update(reason="x")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()


def test_database_refuses_raw_update(org):
    evt = audit.record_create(None, org)
    with pytest.raises(Exception), transaction.atomic():  # noqa: B017 - sqlite IntegrityError / psycopg RaiseException
        with connection.cursor() as cur:
            cur.execute("UPDATE core_auditevent SET reason = 'forged' WHERE id = %s", [evt.pk])


def _tamper(pk):
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("DROP TRIGGER core_auditevent_no_update")
        else:
            # Deferred foreign-key checks of this transaction's inserts must run before ALTER TABLE.
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cur.execute("ALTER TABLE core_auditevent DISABLE TRIGGER core_auditevent_no_change")
        cur.execute("UPDATE core_auditevent SET reason = 'forged' WHERE id = %s", [pk])


def test_tampering_is_detected(org):
    first = audit.record_create(None, org)
    audit.record_read(None, org)
    _tamper(first.pk)
    ok, _checked, broken = audit.verify()
    assert not ok and broken == first.pk
    with pytest.raises(CommandError, match="BROKEN"):
        call_command("audit", "verify")


def test_verify_command_ok(org, capsys):
    audit.record_create(None, org)
    call_command("audit", "verify")
    assert "intact" in capsys.readouterr().out




def test_a_file_is_recorded_by_its_stored_name():
    from birge.learners.models import Consent

    assert audit.snapshot(Consent(document="consents/scan.pdf"), ["document"]) == {"document": "consents/scan.pdf"}
    assert audit.snapshot(Consent(), ["document"]) == {"document": ""}
