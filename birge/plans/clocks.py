"""The plan's clocks on the one deadline mechanism (``birge.core.deadlines``).

- agreeing a plan from a released conclusion stops that organization's ``release_to_plan`` clock
  (started by ``assessments`` when the family released the conclusion);
- putting a version into force starts ``plan_review`` (due on its review date) and a
  ``service_start`` clock for each planned service not yet delivered (due the configured days
  after the service's start; owned by the organization and the provider);
- the first session held stops the service's ``service_start`` clock, and the clock the release
  started for the same recommended service;
- a review met stops ``plan_review`` and starts the next one; a version leaving force (replaced,
  closed, handed over) cancels its open clocks with the reason.

Services call these inside their transaction, after checking the actor's right to act.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from django.utils import timezone
from django.utils.translation import gettext as _

from birge.core import deadlines
from birge.core.deadline_models import Clock, Deadline


_NO_EMAIL: ContextVar[bool] = ContextVar("plans_no_email", default=False)


@contextmanager
def without_email():
    """Notifications stay in the app only (the demo generator: no e-mail to synthetic people)."""
    token = _NO_EMAIL.set(True)
    try:
        yield
    finally:
        _NO_EMAIL.reset(token)


def notify(users, message, obj, *, event: str = "") -> None:
    """In-app notification and e-mail to each user, after the transaction commits (no personal data in the text)."""
    link = obj.get_absolute_url() if hasattr(obj, "get_absolute_url") else ""
    deadlines.notify(users, message, link, event=event, email=not _NO_EMAIL.get())


def _open(clock: str, learner_id: int, organization_id: int):
    return Deadline.objects.open().filter(clock=clock, learner_id=learner_id, owner_organization_id=organization_id)


def stop_release_to_plan(actor, plan) -> None:
    """The family agreed a plan: the organization met its release-to-plan obligation."""
    for deadline in _open(Clock.RELEASE_TO_PLAN, plan.learner_id, plan.organization_id).select_related("content_type"):
        target = deadline.target
        if target is not None:
            deadlines.stop_clock(actor, target, Clock.RELEASE_TO_PLAN)


def _started(service) -> bool:
    """Has this service (or the same service in an earlier version) started: its start clock was met?"""
    node = service
    while node is not None:
        if Deadline.objects.for_object(node).filter(clock=Clock.SERVICE_START, met_at__isnull=False).exists():
            return True
        node = node.origin
    return False


def plan_activated(actor, plan, replaced=None) -> None:
    deadlines.start_clock(actor, plan, Clock.PLAN_REVIEW, owner_organization=plan.organization, learner=plan.learner_id,
                          due_on=plan.review_on, restart=True)
    today = timezone.localdate()
    for service in plan.services.select_related("provider_user", "origin"):
        if _started(service):
            continue
        deadlines.start_clock(actor, service, Clock.SERVICE_START, owner_organization=plan.organization,
                              owner_user=service.provider_user, learner=plan.learner_id,
                              start=service.starts_on or plan.effective_from or today)


def plan_left_force(actor, plan, reason: str = "") -> None:
    reason = reason or _("The plan version is no longer in force.")
    deadlines.stop_clock(actor, plan, Clock.PLAN_REVIEW, cancel=True, reason=reason)
    for service in plan.services.all():
        deadlines.stop_clock(actor, service, Clock.SERVICE_START, cancel=True, reason=reason)


def plan_reviewed(actor, plan) -> None:
    """The review was held: the clock is met; the next one runs to the new review date."""
    deadlines.stop_clock(actor, plan, Clock.PLAN_REVIEW)
    deadlines.start_clock(actor, plan, Clock.PLAN_REVIEW, owner_organization=plan.organization, learner=plan.learner_id,
                          due_on=plan.review_on)


def service_started(actor, service, on) -> None:
    """The first session held: the service has started."""
    deadlines.stop_clock(actor, service, Clock.SERVICE_START, at=on)
    plan = service.plan
    for deadline in _open(Clock.SERVICE_START, plan.learner_id, plan.organization_id).select_related("content_type"):
        target = deadline.target
        # The release's clock for the same recommendation (a conclusion item naming this service).
        if target is not None and target is not service and getattr(target, "catalogue_id", None) == service.catalogue_id \
                and type(target).__name__ != type(service).__name__:
            deadlines.stop_clock(actor, target, Clock.SERVICE_START, at=on)
