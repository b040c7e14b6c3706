"""Background linkage runs for large batches (django-tasks; ``birge worker`` runs them)."""

from __future__ import annotations

import logging

from django_tasks import task

log = logging.getLogger(__name__)


@task()
def link_batch_task(batch_id: int, user_id: int) -> dict:
    from birge.core.models import User

    from . import services
    from .models import ImportBatch

    batch = ImportBatch.objects.get(pk=batch_id)
    user = User.objects.get(pk=user_id)
    log.info("linkage run started", extra={"batch": batch_id})
    return services.link_batch(user, batch)
