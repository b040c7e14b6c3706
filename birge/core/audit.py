"""The audit trail: append-only, hash-chained events written by services.

Every service that creates, changes, deletes or moves a record through a
workflow calls :func:`record`; every page or endpoint that opens a sensitive
record calls :func:`record_read`. The chain is verified by ``birge audit verify``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable

from django.db import models, transaction
from django.db.models.fields.files import FieldFile

from .middleware import current_request_id
from .models import AuditChainHead, AuditEvent

# Fields never copied into an event: secrets, and columns derived from others.
NEVER_RECORDED = {"password", "key_hash", "search_key"}  # secrets and derived columns


def _jsonable(value):
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, FieldFile):  # a file is recorded by its stored name, never its content
        return value.name or ""
    return value


def snapshot(instance: models.Model, fields: Iterable[str] | None = None) -> dict:
    """The recordable field values of an instance (foreign keys as ids)."""
    out = {}
    for field in instance._meta.concrete_fields:
        if fields is not None and field.name not in fields:
            continue
        if field.name in NEVER_RECORDED or field.primary_key:
            continue
        out[field.name] = _jsonable(field.value_from_object(instance))
    return out


def diff(before: dict, after: dict) -> dict:
    """Only what changed: {field: [old, new]}."""
    keys = set(before) | set(after)
    return {k: [before.get(k), after.get(k)] for k in sorted(keys) if before.get(k) != after.get(k)}


def object_type(instance_or_model) -> str:
    meta = instance_or_model._meta
    return f"{meta.app_label}.{meta.model_name}"


def learner_id_of(instance) -> int | None:
    """The learner a record is about, so a child's history can be listed."""
    if object_type(instance) == "learners.learner":
        return instance.pk
    return getattr(instance, "learner_id", None)


def record(
    actor,
    action: str,
    instance: models.Model | None = None,
    *,
    event: str | None = None,
    changes: dict | None = None,
    reason: str = "",
    object_type_label: str | None = None,
    object_id: str | int | None = None,
    learner_id: int | None = None,
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction."""
    otype = object_type_label or (object_type(instance) if instance is not None else "")
    oid = object_id if object_id is not None else (instance.pk if instance is not None else "")
    if learner_id is None and instance is not None:
        learner_id = learner_id_of(instance)
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        evt = AuditEvent(
            actor=actor if getattr(actor, "pk", None) else None,
            actor_name=getattr(actor, "username", "") or "",
            request_id=current_request_id() or "",
            action=action,
            event=event or f"{otype.split('.')[-1]}.{action}",
            object_type=otype,
            object_id=str(oid or ""),
            learner_id=learner_id,
            changes=_jsonable(changes or {}),
            reason=reason or "",
            prev_hash=head.last_hash,
        )
        evt.hash = evt.compute_hash()
        evt.save()
        AuditChainHead.objects.filter(pk=1).update(last_hash=evt.hash)
    return evt


def record_create(actor, instance, *, event=None, reason=""):
    return record(actor, AuditEvent.Action.CREATE, instance, event=event, changes={"after": snapshot(instance)}, reason=reason)


def record_update(actor, instance, before: dict, *, event=None, reason=""):
    changed = diff(before, snapshot(instance))
    if not changed:
        return None
    return record(actor, AuditEvent.Action.UPDATE, instance, event=event, changes=changed, reason=reason)


def record_transition(actor, instance, old_state: str, new_state: str, *, event=None, reason=""):
    return record(
        actor, AuditEvent.Action.TRANSITION, instance, event=event, changes={"state": [old_state, new_state]}, reason=reason
    )


def record_delete(actor, instance, *, event=None, reason=""):
    return record(actor, AuditEvent.Action.DELETE, instance, event=event, changes={"before": snapshot(instance)}, reason=reason)


def record_read(actor, instance, *, event=None, reason=""):
    """A sensitive record was opened (health, disability, assessment)."""
    return record(actor, AuditEvent.Action.READ, instance, event=event or f"{object_type(instance).split('.')[-1]}.read", reason=reason)


def verify(batch: int = 5000) -> tuple[bool, int, int | None]:
    """Walk the chain: (ok, events checked, id of the first broken event)."""
    prev = "0" * 64
    checked = 0
    last_id = 0
    while True:
        chunk = list(AuditEvent.objects.filter(id__gt=last_id).order_by("id")[:batch])
        if not chunk:
            break
        for evt in chunk:
            if evt.prev_hash != prev or evt.compute_hash() != evt.hash:
                return False, checked, evt.id
            prev = evt.hash
            checked += 1
            last_id = evt.id
    head = AuditChainHead.objects.filter(pk=1).first()
    if head and checked and head.last_hash != prev:
        return False, checked, None
    return True, checked, None
