"""The verbs of individual education plans.

Every function takes the acting user first, checks who may act, runs in one
transaction, validates with ``full_clean()`` and writes an audit event. Views,
the API and the demo call these; none of them writes the models directly.

Workflow of one version::

    draft ──propose──► proposed ──agree──► agreed ──activate──► active ⇄ under-review ──► closed
      ▲                   │ (return to draft)                      │
      └───────────────────┘                                        └─amend─► new version (draft …)
                                                                   the old one becomes "superseded"
                                                                   when the new one is activated

Edits carry the ``lock_version`` the editor saw; a save based on an older value
is refused (optimistic concurrency, no lost update).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy

from birge.core import access, audit
from birge.core.access import Rec
from birge.core.models import AuditEvent, Organization, User
from birge.core.roles import SPECIALIST_ROLES, Role
from birge.learners.models import Assignment, Consent, Enrolment, Guardian, GuardianLink, Learner

from . import clocks
from .models import (
    IN_FORCE, IN_PREPARATION, AccommodationKind, Agreement, GoalProgress, IndividualPlan, MemberRole, PlanAccommodation,
    PlanGoal, PlanMember, PlanReview, PlanService, PlanState, Progress, ReviewDecision,
)

GOAL_FIELDS = ("area", "description", "baseline", "target", "measure", "criteria", "review_on", "position")
ACCOMMODATION_FIELDS = ("kind", "catalogue", "description", "position")
SERVICE_FIELDS = ("catalogue", "provider_user", "provider_organization", "minutes_per_week", "starts_on", "ends_on", "notes")
PLAN_FIELDS = ("review_on", "form", "programme", "tutor", "timetable_notes", "strengths", "own_basis", "effective_from",
               "amendment_reason")
MAX_MINUTES_PER_WEEK = 2400


class StaleEdit(ValidationError):
    """Someone else saved the plan after this editor opened it."""

    def __init__(self):
        super().__init__({"lock_version": [_(
            "Someone else changed this plan after you opened it, so your change was not saved. "
            "Reload the plan to see the latest version, then make your change again.")]})


# --- who may act ------------------------------------------------------------------------------------


def coordinator_organizations(user) -> list[int]:
    return access.grant_organizations(user, Role.SCHOOL_COORDINATOR)


def is_coordinator(user, organization) -> bool:
    org_id = getattr(organization, "pk", organization)
    return org_id in coordinator_organizations(user)


def _current(qs, on=None):
    on = on or timezone.localdate()
    return qs.filter(starts_on__lte=on).filter(Q(ends_on__isnull=True) | Q(ends_on__gt=on))


def is_assigned(user, plan: IndividualPlan) -> bool:
    """Is the user a specialist or tutor currently assigned to this learner at the plan's organization?"""
    return _current(Assignment.objects.filter(user=user, learner_id=plan.learner_id,
                                              organization_id=plan.organization_id)).exists()


def guardian_of(user, learner) -> Guardian | None:
    """The user's own guardian record when they are a current legal representative of the learner."""
    if not getattr(user, "is_authenticated", False):
        return None
    links = _current(GuardianLink.objects.filter(learner=learner, guardian__user=user, is_legal_representative=True))
    link = links.select_related("guardian").first()
    return link.guardian if link else None


def legal_representatives(learner) -> list[Guardian]:
    links = _current(GuardianLink.objects.filter(learner=learner, is_legal_representative=True)).select_related("guardian")
    return [link.guardian for link in links.order_by("id")]


def _visible(actor, plan: IndividualPlan) -> None:
    if not IndividualPlan.objects.visible_to(actor).filter(pk=plan.pk).exists():
        raise PermissionDenied


def _require_coordinator(actor, plan: IndividualPlan) -> None:
    _visible(actor, plan)
    if not is_coordinator(actor, plan.organization_id):
        raise PermissionDenied


def _require_team(actor, plan: IndividualPlan) -> None:
    """The coordinator or a specialist or tutor assigned to the learner at the plan's organization."""
    _visible(actor, plan)
    if not (is_coordinator(actor, plan.organization_id)
            or (is_assigned(actor, plan) and access.can_write(actor, plan))):
        raise PermissionDenied


def may_edit(user, plan: IndividualPlan) -> bool:
    return plan.state == PlanState.DRAFT and (is_coordinator(user, plan.organization_id) or is_assigned(user, plan))


def may_manage(user, plan: IndividualPlan) -> bool:
    return is_coordinator(user, plan.organization_id)


def may_agree(user, plan: IndividualPlan) -> bool:
    return plan.state == PlanState.PROPOSED and guardian_of(user, plan.learner) is not None


# --- helpers ------------------------------------------------------------------------------------------


def _raise(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)


def _merge(errors: dict, exc: ValidationError) -> None:
    for field, messages in exc.message_dict.items():
        errors.setdefault(field, messages)


def _bump(plan: IndividualPlan, expected) -> None:
    """Compare-and-swap the edit counter: refuse a save based on an older version of the plan."""
    try:
        expected = int(expected)
    except (TypeError, ValueError):
        raise ValidationError({"lock_version": [_("The edit counter of the plan is missing; reload the plan.")]}) from None
    updated = IndividualPlan.objects.filter(pk=plan.pk, lock_version=expected).update(lock_version=F("lock_version") + 1)
    if not updated:
        raise StaleEdit()
    plan.lock_version = expected + 1


def _require_state(plan: IndividualPlan, *states, message=None) -> None:
    if plan.state not in states:
        raise ValidationError({"state": [message or _("This cannot be done while the plan is %(state)s.") % {
            "state": plan.get_state_display().lower()}]})


def _require_draft(plan: IndividualPlan) -> None:
    _require_state(plan, PlanState.DRAFT, message=_(
        "Only a draft can be changed. To change an active plan, make an amendment: a new version from a date."))


def _transition(actor, plan: IndividualPlan, new_state: str, *, event: str, reason: str = "", fields=()) -> None:
    old = plan.state
    plan.state = new_state
    plan.full_clean(validate_constraints=False)
    plan.save(update_fields=["state", "lock_version", *fields])
    audit.record_transition(actor, plan, old, new_state, event=event, reason=reason)


def _clean_text(value) -> str:
    return (value or "").strip()


def plan_review_days() -> int:
    return settings.BIRGE_DEADLINES.get("plan_review", 90)


def binding_conclusion(learner, organization):
    from birge.assessments.services import binding_conclusion as binding

    return binding(learner, organization)


def active_enrolment(learner, organization) -> Enrolment | None:
    return Enrolment.objects.filter(learner=learner, organization=organization, status=Enrolment.Status.ACTIVE).order_by(
        "-starts_on").first()


def open_plan(learner, organization) -> IndividualPlan | None:
    """The plan being prepared or in force for the learner at the organization (the newest version)."""
    return IndividualPlan.objects.filter(
        learner=learner, organization=organization, state__in=[*IN_PREPARATION, *IN_FORCE]).order_by("-version", "-id").first()


def in_force(learner, organization) -> IndividualPlan | None:
    return IndividualPlan.objects.filter(learner=learner, organization=organization, state__in=IN_FORCE).first()


def versions(plan: IndividualPlan):
    return IndividualPlan.objects.filter(series=plan.series).order_by("version")


# --- creating a plan ------------------------------------------------------------------------------------


def prefill_from_conclusion(plan: IndividualPlan, conclusion) -> None:
    """Accommodations from the conclusion's conditions and test accommodations; services from its services."""
    items = conclusion.items.select_related("catalogue").order_by("kind", "position", "id")
    position = 0
    for item in items:
        if item.kind in ("condition", "test-accommodation"):
            PlanAccommodation.objects.create(plan=plan, kind=AccommodationKind.ACCOMMODATION, catalogue=item.catalogue,
                                             description=item.detail, from_conclusion=True, position=position)
            position += 1
        elif item.kind == "service":
            PlanService.objects.create(plan=plan, catalogue=item.catalogue, minutes_per_week=item.minutes_per_week,
                                       notes=item.detail or "", from_conclusion=True)


@transaction.atomic
def create_plan(actor, learner: Learner, *, organization: Organization | None = None, own_basis: str = "",
                review_on=None, form=None, programme=None, timetable_notes: str = "", strengths: str = "") -> IndividualPlan:
    """Start a plan (a draft, version 1) from the binding conclusion or the organization's own basis."""
    orgs = coordinator_organizations(actor)
    if not orgs:
        raise PermissionDenied
    if not Learner.objects.visible_to(actor).filter(pk=learner.pk).exists():
        raise PermissionDenied
    errors: dict = {}
    if organization is None:
        enrolment = Enrolment.objects.filter(learner=learner, organization_id__in=orgs,
                                             status=Enrolment.Status.ACTIVE).select_related("organization").first()
        organization = enrolment.organization if enrolment else Organization.objects.get(pk=orgs[0])
    elif organization.pk not in orgs:
        raise ValidationError({"organization": [_("You are not the inclusion coordinator of this organization.")]})
    enrolment = active_enrolment(learner, organization)
    if enrolment is None:
        errors["learner"] = [_("The learner has no active enrolment at %(org)s; a plan is made where the learner studies.")
                             % {"org": organization}]
    if learner.archived_at is not None:
        errors["learner"] = [_("This learner's record is archived.")]
    existing = open_plan(learner, organization)
    if existing is not None:
        errors["learner"] = [_("The learner already has a plan at this organization (version %(version)s, %(state)s). "
                               "Open it; to change a plan in force, amend it.") % {
            "version": existing.version, "state": existing.get_state_display().lower()}]
    conclusion = binding_conclusion(learner, organization)
    own_basis = _clean_text(own_basis)
    if conclusion is None and not own_basis:
        errors["own_basis"] = [_("No PMPK conclusion has been released to your organization with the family's consent. "
                                 "A plan needs that conclusion, or the organization's own basis: describe it.")]
    _raise(errors)
    today = timezone.localdate()
    plan = IndividualPlan(
        learner=learner, organization=organization, enrolment=enrolment, conclusion=conclusion, own_basis=own_basis,
        state=PlanState.DRAFT, version=1, review_on=review_on or today + dt.timedelta(days=plan_review_days()),
        form=form or (conclusion.recommended_form if conclusion else enrolment.form),
        programme=programme or (conclusion.programme if conclusion else enrolment.programme),
        timetable_notes=_clean_text(timetable_notes), strengths=_clean_text(strengths), created_by=actor,
    )
    if plan.review_on <= today:
        errors["review_on"] = [_("The review date is in the future.")]
    try:
        plan.full_clean(validate_constraints=False)
    except ValidationError as exc:
        _merge(errors, exc)
    _raise(errors)
    plan.save()
    audit.record_create(actor, plan, event="plan.created",
                        reason=_("Own basis of the organization") if conclusion is None else "")
    if conclusion is not None:
        prefill_from_conclusion(plan, conclusion)
    PlanMember.objects.create(plan=plan, role=MemberRole.COORDINATOR, user=actor)
    for guardian in legal_representatives(learner):
        PlanMember.objects.create(plan=plan, role=MemberRole.FAMILY, guardian=guardian)
    return plan


# --- editing a draft --------------------------------------------------------------------------------------


def _check_review_on(value, errors: dict, field="review_on", after=None) -> None:
    if value is None:
        errors[field] = [_("Give the review date.")]
    elif isinstance(value, dt.date) and after and value <= after:
        errors[field] = [_("The review date is after %(date)s.") % {"date": after.isoformat()}]


def _ensure_member(plan: IndividualPlan, user, role) -> None:
    if user is not None and not plan.members.filter(user=user).exists():
        PlanMember.objects.create(plan=plan, role=role, user=user)


def _ensure_assignment(actor, plan: IndividualPlan, user, kind: str, field: str) -> None:
    """A provider or tutor gets a current assignment to the learner (relationship access)."""
    if user is None:
        return
    if _current(Assignment.objects.filter(learner_id=plan.learner_id, user=user, organization_id=plan.organization_id)).exists():
        return
    from birge.learners import services as learner_services

    try:
        learner_services.assign(actor, plan.learner, user=user, kind=kind, organization=plan.organization)
    except ValidationError as exc:
        messages = exc.message_dict.get("user") or exc.messages
        raise ValidationError({field: messages}) from None


@transaction.atomic
def update_plan(actor, plan: IndividualPlan, *, lock_version, **fields) -> IndividualPlan:
    """Change the details of a draft: review date, form, programme, tutor, timetable, strengths, basis."""
    _require_coordinator(actor, plan)
    _require_draft(plan)
    unknown = set(fields) - set(PLAN_FIELDS)
    if unknown:
        raise ValidationError({k: [_("This field cannot be changed here.")] for k in unknown})
    before = audit.snapshot(plan)
    errors: dict = {}
    for name, value in fields.items():
        setattr(plan, name, _clean_text(value) if isinstance(value, str) else value)
    _check_review_on(plan.review_on, errors, after=timezone.localdate())
    if plan.tutor is not None and not _holds_role(plan.tutor, plan.organization_id, {Role.TUTOR}):
        errors["tutor"] = [_("Choose a tutor or assistant of this organization.")]
    if "effective_from" in fields:
        _check_effective_from(plan, plan.effective_from, errors)
    try:
        plan.full_clean(validate_constraints=False)
    except ValidationError as exc:
        _merge(errors, exc)
    _raise(errors)
    _bump(plan, lock_version)
    plan.save()
    if plan.tutor is not None:
        _ensure_assignment(actor, plan, plan.tutor, Assignment.Kind.TUTOR, "tutor")
        _ensure_member(plan, plan.tutor, MemberRole.TUTOR)
    audit.record_update(actor, plan, before, event="plan.updated")
    return plan


def _holds_role(user, organization_id, roles) -> bool:
    return any(m.role in roles and m.organization_id == organization_id for m in user.active_memberships())


def _check_effective_from(plan: IndividualPlan, value, errors: dict) -> None:
    if plan.previous_id is None:
        return
    if value is None:
        errors["effective_from"] = [_("An amendment is effective from a date: give it.")]
    elif plan.previous.effective_from and value < plan.previous.effective_from:
        errors["effective_from"] = [_(
            "An amendment cannot take effect before the version it changes (effective from %(date)s).") % {
            "date": plan.previous.effective_from.isoformat()}]


def _set(obj, fields: dict, allowed) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationError({k: [_("This field cannot be changed here.")] for k in unknown})
    for name, value in fields.items():
        setattr(obj, name, _clean_text(value) if isinstance(value, str) else value)


def _save_part(actor, plan, obj, lock_version, *, created: bool, event: str, before=None, errors=None) -> None:
    errors = errors if errors is not None else {}
    try:
        obj.full_clean()
    except ValidationError as exc:
        _merge(errors, exc)
    _raise(errors)
    _bump(plan, lock_version)
    obj.save()
    plan.save(update_fields=["lock_version"])
    if created:
        audit.record(actor, AuditEvent.Action.CREATE, obj, event=event, changes={"after": audit.snapshot(obj)},
                     learner_id=plan.learner_id)
    else:
        changes = audit.diff(before, audit.snapshot(obj))
        if changes:
            audit.record(actor, AuditEvent.Action.UPDATE, obj, event=event, changes=changes, learner_id=plan.learner_id)


def _remove_part(actor, plan, obj, lock_version, *, event: str) -> None:
    """A draft's working row is removed; the audit event keeps its full content."""
    _bump(plan, lock_version)
    plan.save(update_fields=["lock_version"])
    audit.record(actor, AuditEvent.Action.DELETE, obj, event=event, changes={"before": audit.snapshot(obj)},
                 learner_id=plan.learner_id)
    obj.delete()


@transaction.atomic
def add_goal(actor, plan: IndividualPlan, *, lock_version, **fields) -> PlanGoal:
    _require_team(actor, plan)
    _require_draft(plan)
    goal = PlanGoal(plan=plan)
    fields.setdefault("review_on", plan.review_on)
    fields.setdefault("position", (plan.goals.aggregate(m=Max("position"))["m"] or 0) + 1)
    _set(goal, fields, GOAL_FIELDS)
    _save_part(actor, plan, goal, lock_version, created=True, event="plan.goal_added")
    return goal


@transaction.atomic
def update_goal(actor, goal: PlanGoal, *, lock_version, **fields) -> PlanGoal:
    plan = goal.plan
    _require_team(actor, plan)
    _require_draft(plan)
    before = audit.snapshot(goal)
    _set(goal, fields, GOAL_FIELDS)
    _save_part(actor, plan, goal, lock_version, created=False, event="plan.goal_changed", before=before)
    return goal


@transaction.atomic
def remove_goal(actor, goal: PlanGoal, *, lock_version) -> None:
    plan = goal.plan
    _require_team(actor, plan)
    _require_draft(plan)
    _remove_part(actor, plan, goal, lock_version, event="plan.goal_removed")


def _check_accommodation(acc: PlanAccommodation, errors: dict) -> None:
    if acc.catalogue_id and acc.catalogue.kind not in ("condition", "test-accommodation", "form", "device"):
        errors["catalogue"] = [_("Choose a condition, a device or a test accommodation.")]


@transaction.atomic
def add_accommodation(actor, plan: IndividualPlan, *, lock_version, **fields) -> PlanAccommodation:
    _require_team(actor, plan)
    _require_draft(plan)
    acc = PlanAccommodation(plan=plan)
    fields.setdefault("position", (plan.accommodations.aggregate(m=Max("position"))["m"] or 0) + 1)
    _set(acc, fields, ACCOMMODATION_FIELDS)
    errors: dict = {}
    _check_accommodation(acc, errors)
    _save_part(actor, plan, acc, lock_version, created=True, event="plan.accommodation_added", errors=errors)
    return acc


@transaction.atomic
def update_accommodation(actor, acc: PlanAccommodation, *, lock_version, **fields) -> PlanAccommodation:
    plan = acc.plan
    _require_team(actor, plan)
    _require_draft(plan)
    before = audit.snapshot(acc)
    _set(acc, fields, ACCOMMODATION_FIELDS)
    errors: dict = {}
    _check_accommodation(acc, errors)
    _save_part(actor, plan, acc, lock_version, created=False, event="plan.accommodation_changed", before=before,
               errors=errors)
    return acc


@transaction.atomic
def remove_accommodation(actor, acc: PlanAccommodation, *, lock_version) -> None:
    plan = acc.plan
    _require_team(actor, plan)
    _require_draft(plan)
    _remove_part(actor, plan, acc, lock_version, event="plan.accommodation_removed")


PROVIDER_ROLES = SPECIALIST_ROLES | {Role.TUTOR}


def _check_service(service: PlanService, errors: dict) -> None:
    plan = service.plan
    if service.catalogue_id and service.catalogue.kind != "service":
        errors["catalogue"] = [_("Choose a service from the catalogue.")]
    if service.provider_user_id and service.provider_organization_id:
        errors["provider_organization"] = [_("Choose either a specialist or an outside organization, not both.")]
    if service.provider_user_id and not _holds_role(service.provider_user, plan.organization_id, PROVIDER_ROLES):
        errors["provider_user"] = [_("Choose a specialist or tutor of this organization.")]
    if service.provider_organization_id and service.provider_organization_id == plan.organization_id:
        errors["provider_organization"] = [_("For the organization's own staff, choose the specialist.")]
    if service.minutes_per_week is not None and not 0 < service.minutes_per_week <= MAX_MINUTES_PER_WEEK:
        errors["minutes_per_week"] = [_("Give 1 to 2,400 minutes per week.")]
    if service.starts_on and service.ends_on and service.ends_on < service.starts_on:
        errors["ends_on"] = [_("The end date is before the start date.")]


@transaction.atomic
def add_service(actor, plan: IndividualPlan, *, lock_version, **fields) -> PlanService:
    _require_coordinator(actor, plan)
    _require_draft(plan)
    service = PlanService(plan=plan)
    _set(service, fields, SERVICE_FIELDS)
    errors: dict = {}
    _check_service(service, errors)
    _save_part(actor, plan, service, lock_version, created=True, event="plan.service_added", errors=errors)
    _after_provider(actor, plan, service)
    return service


def _after_provider(actor, plan, service: PlanService) -> None:
    user = service.provider_user
    if user is None:
        return
    kind = Assignment.Kind.TUTOR if _holds_role(user, plan.organization_id, {Role.TUTOR}) and not _holds_role(
        user, plan.organization_id, SPECIALIST_ROLES) else Assignment.Kind.SPECIALIST
    _ensure_assignment(actor, plan, user, kind, "provider_user")
    _ensure_member(plan, user, MemberRole.TUTOR if kind == Assignment.Kind.TUTOR else MemberRole.SPECIALIST)


@transaction.atomic
def update_service(actor, service: PlanService, *, lock_version, **fields) -> PlanService:
    plan = service.plan
    _require_coordinator(actor, plan)
    _require_draft(plan)
    before = audit.snapshot(service)
    _set(service, fields, SERVICE_FIELDS)
    errors: dict = {}
    _check_service(service, errors)
    _save_part(actor, plan, service, lock_version, created=False, event="plan.service_changed", before=before,
               errors=errors)
    _after_provider(actor, plan, service)
    return service


@transaction.atomic
def remove_service(actor, service: PlanService, *, lock_version) -> None:
    plan = service.plan
    _require_coordinator(actor, plan)
    _require_draft(plan)
    _remove_part(actor, plan, service, lock_version, event="plan.service_removed")


@transaction.atomic
def add_member(actor, plan: IndividualPlan, *, lock_version, role: str, user: User | None = None,
               guardian: Guardian | None = None, name: str = "") -> PlanMember:
    _require_coordinator(actor, plan)
    _require_draft(plan)
    errors: dict = {}
    if guardian is not None and guardian.pk not in {g.pk for g in legal_representatives(plan.learner)} and \
            not _current(GuardianLink.objects.filter(learner=plan.learner, guardian=guardian)).exists():
        errors["guardian"] = [_("Choose one of the learner's guardians.")]
    if user is not None and not any(m.organization_id == plan.organization_id for m in user.active_memberships()):
        errors["user"] = [_("Choose a member of staff of this organization.")]
    if user is not None and plan.members.filter(user=user).exists():
        errors["user"] = [_("This person is in the team already.")]
    member = PlanMember(plan=plan, role=role, user=user, guardian=guardian, name=_clean_text(name))
    _save_part(actor, plan, member, lock_version, created=True, event="plan.member_added", errors=errors)
    return member


@transaction.atomic
def remove_member(actor, member: PlanMember, *, lock_version) -> None:
    plan = member.plan
    _require_coordinator(actor, plan)
    _require_draft(plan)
    _remove_part(actor, plan, member, lock_version, event="plan.member_removed")


# --- the workflow ----------------------------------------------------------------------------------------


def readiness(plan: IndividualPlan) -> dict:
    """What still stops a draft being proposed to the family: {field: [messages]} (empty when ready)."""
    errors: dict = {}
    if not plan.goals.exists():
        errors["goals"] = [_("Add at least one goal.")]
    problems = []
    for service in plan.services.select_related("catalogue"):
        if not service.has_provider:
            problems.append(_("%(service)s: choose the provider.") % {"service": service.catalogue})
        if not service.minutes_per_week:
            problems.append(_("%(service)s: give the minutes per week.") % {"service": service.catalogue})
        if not service.starts_on:
            problems.append(_("%(service)s: give the start date.") % {"service": service.catalogue})
    if problems:
        errors["services"] = problems
    if not plan.members.filter(role=MemberRole.FAMILY).exists():
        errors["members"] = [_("The family is a member of the team: add a parent or guardian.")]
    if plan.review_on and plan.review_on <= timezone.localdate():
        errors["review_on"] = [_("The review date is in the future.")]
    if plan.previous_id:
        _check_effective_from(plan, plan.effective_from, errors)
    return errors


def _family_users(plan: IndividualPlan) -> list:
    return [g.user for g in legal_representatives(plan.learner) if g.user_id and g.user.is_active]


@transaction.atomic
def propose(actor, plan: IndividualPlan, *, lock_version) -> IndividualPlan:
    """Send the draft to the family for agreement."""
    _require_coordinator(actor, plan)
    _require_draft(plan)
    _raise(readiness(plan))
    _bump(plan, lock_version)
    plan.proposed_at = timezone.now()
    _transition(actor, plan, PlanState.PROPOSED, event="plan.proposed", fields=["proposed_at"])
    clocks.notify(_family_users(plan), gettext_lazy("An individual education plan is waiting for your agreement"), plan,
                  event="plan.proposed")
    return plan


@transaction.atomic
def return_to_draft(actor, plan: IndividualPlan, *, lock_version, reason: str) -> IndividualPlan:
    """The family asks for changes, or the coordinator takes the proposal back."""
    _visible(actor, plan)
    if not (is_coordinator(actor, plan.organization_id) or guardian_of(actor, plan.learner) is not None):
        raise PermissionDenied
    _require_state(plan, PlanState.PROPOSED)
    if not _clean_text(reason):
        raise ValidationError({"reason": [_("Say what should change.")]})
    _bump(plan, lock_version)
    _transition(actor, plan, PlanState.DRAFT, event="plan.returned_to_draft", reason=_clean_text(reason))
    return plan


@transaction.atomic
def agree(actor, plan: IndividualPlan, *, lock_version, method: str, guardian: Guardian | None = None,
          agreed_on=None, note: str = "") -> IndividualPlan:
    """Record the family's agreement: by the parent in the system, on paper, or why it was not obtained."""
    _visible(actor, plan)
    _require_state(plan, PlanState.PROPOSED, message=_("Only a plan proposed to the family can be agreed."))
    errors: dict = {}
    now = timezone.now()
    note = _clean_text(note)
    if method == Agreement.IN_SYSTEM:
        own = guardian_of(actor, plan.learner)
        if own is None:
            raise PermissionDenied
        guardian, agreed_at = own, now
    elif method in (Agreement.PAPER, Agreement.NOT_OBTAINED):
        if not is_coordinator(actor, plan.organization_id):
            raise PermissionDenied
        if method == Agreement.PAPER:
            if guardian is None:
                errors["guardian"] = [_("Choose the parent or guardian who signed.")]
            elif guardian.pk not in {g.pk for g in legal_representatives(plan.learner)}:
                errors["guardian"] = [_("The agreement is signed by one of the learner's legal representatives.")]
        else:
            guardian = None
            if not note:
                errors["note"] = [_("Say why the family's agreement was not obtained.")]
        agreed_on = agreed_on or timezone.localdate()
        if agreed_on > timezone.localdate():
            errors["agreed_on"] = [_("The date is in the future.")]
        elif plan.proposed_at and agreed_on < timezone.localtime(plan.proposed_at).date():
            errors["agreed_on"] = [_("The date is before the plan was proposed.")]
        agreed_at = timezone.make_aware(dt.datetime.combine(agreed_on, dt.time(12))) if isinstance(agreed_on, dt.date) else now
    else:
        raise ValidationError({"method": [_("Choose how the family agreed.")]})
    _raise(errors)
    _bump(plan, lock_version)
    plan.agreement, plan.agreed_by, plan.agreed_at = method, guardian, agreed_at
    plan.agreement_recorded_by, plan.agreement_note = actor, note
    _transition(actor, plan, PlanState.AGREED, event="plan.agreed", reason=note,
                fields=["agreement", "agreed_by", "agreed_at", "agreement_recorded_by", "agreement_note"])
    if plan.version == 1 and plan.conclusion_id:
        clocks.stop_release_to_plan(actor, plan)
    return plan


@transaction.atomic
def activate(actor, plan: IndividualPlan, *, lock_version, effective_from=None) -> IndividualPlan:
    """Put the agreed version into force; an amendment replaces the version it changes."""
    _require_coordinator(actor, plan)
    _require_state(plan, PlanState.AGREED, message=_("Only an agreed plan can be put into force."))
    today = timezone.localdate()
    effective_from = effective_from or plan.effective_from or today
    errors: dict = {}
    if effective_from > today:
        errors["effective_from"] = [_("This version takes effect on %(date)s; put it into force on or after that day.")
                                    % {"date": effective_from.isoformat()}]
    _check_effective_from(plan, effective_from, errors)
    previous = plan.previous
    replaces = previous if previous is not None and previous.state in IN_FORCE and \
        previous.organization_id == plan.organization_id else None
    other = IndividualPlan.objects.filter(learner_id=plan.learner_id, organization_id=plan.organization_id,
                                          state__in=IN_FORCE).exclude(pk=getattr(replaces, "pk", None)).first()
    if other is not None:
        errors["state"] = [_("The learner already has a plan in force at this organization (version %(version)s). "
                             "Amend or close that one.") % {"version": other.version}]
    _raise(errors)
    _bump(plan, lock_version)
    if replaces is not None:
        _supersede(actor, replaces, plan)
    plan.effective_from = effective_from
    plan.activated_at = timezone.now()
    try:
        with transaction.atomic():
            _transition(actor, plan, PlanState.ACTIVE, event="plan.activated", reason=plan.amendment_reason,
                        fields=["effective_from", "activated_at"])
    except IntegrityError:
        raise ValidationError({"state": [_("The learner already has a plan in force at this organization.")]}) from None
    clocks.plan_activated(actor, plan, replaces)
    return plan


def _supersede(actor, old: IndividualPlan, new: IndividualPlan) -> None:
    """The old version leaves force. Only its state moves; every other column and its parts stay as they were."""
    IndividualPlan.objects.filter(pk=old.pk).update(state=PlanState.SUPERSEDED)
    audit.record_transition(actor, old, old.state, PlanState.SUPERSEDED, event="plan.superseded",
                            reason=_("Replaced by version %(version)s") % {"version": new.version})
    clocks.plan_left_force(actor, old, _("Replaced by version %(version)s") % {"version": new.version})
    old.state = PlanState.SUPERSEDED


def _copy_parts(source: IndividualPlan, target: IndividualPlan, *, keep_staff: bool = True) -> None:
    goal_map = {}
    for goal in source.goals.order_by("position", "id"):
        goal_map[goal.pk] = PlanGoal.objects.create(
            plan=target, origin=goal, **{f: getattr(goal, f) for f in GOAL_FIELDS})
    for acc in source.accommodations.order_by("position", "id"):
        PlanAccommodation.objects.create(plan=target, kind=acc.kind, catalogue=acc.catalogue, description=acc.description,
                                         from_conclusion=acc.from_conclusion, position=acc.position)
    for service in source.services.order_by("starts_on", "id"):
        PlanService.objects.create(
            plan=target, origin=service, catalogue=service.catalogue,
            provider_user=service.provider_user if keep_staff else None,
            provider_organization=service.provider_organization if (keep_staff or service.provider_organization_id
                                                                    != target.organization_id) else None,
            minutes_per_week=service.minutes_per_week, starts_on=service.starts_on, ends_on=service.ends_on,
            notes=service.notes, from_conclusion=service.from_conclusion)
    for member in source.members.order_by("id"):
        if not keep_staff and member.role != MemberRole.FAMILY and member.guardian_id is None:
            continue
        PlanMember.objects.create(plan=target, role=member.role, user=member.user, guardian=member.guardian, name=member.name)


def _next_version(plan: IndividualPlan) -> int:
    return (IndividualPlan.objects.filter(series=plan.series).aggregate(m=Max("version"))["m"] or 0) + 1


_COPIED = ("learner_id", "organization_id", "enrolment_id", "conclusion_id", "own_basis", "review_on", "form", "programme",
           "tutor_id", "timetable_notes", "strengths")


@transaction.atomic
def amend(actor, plan: IndividualPlan, *, lock_version, effective_from, reason: str) -> IndividualPlan:
    """Start an amendment: a new draft version, effective from a date. The version in force is not touched."""
    _require_coordinator(actor, plan)
    if plan.lock_version != _int(lock_version):
        raise StaleEdit()
    return _start_amendment(actor, plan, effective_from=effective_from, reason=reason)


def _start_amendment(actor, plan: IndividualPlan, *, effective_from, reason: str) -> IndividualPlan:
    _require_state(plan, *IN_FORCE, message=_("Only a plan in force is amended; change a draft directly."))
    errors: dict = {}
    if effective_from is None:
        errors["effective_from"] = [_("An amendment is effective from a date: give it.")]
    elif plan.effective_from and effective_from < plan.effective_from:
        errors["effective_from"] = [_(
            "An amendment cannot take effect before the version it changes (effective from %(date)s).") % {
            "date": plan.effective_from.isoformat()}]
    if not _clean_text(reason):
        errors["reason"] = [_("Say why the plan is amended.")]
    pending = IndividualPlan.objects.filter(previous=plan, state__in=IN_PREPARATION).first()
    if pending is not None:
        errors["state"] = [_("An amendment of this plan is already being prepared (version %(version)s).") % {
            "version": pending.version}]
    _raise(errors)
    new = IndividualPlan(series=plan.series, version=_next_version(plan), previous=plan, state=PlanState.DRAFT,
                         effective_from=effective_from, amendment_reason=_clean_text(reason), created_by=actor,
                         **{f: getattr(plan, f) for f in _COPIED})
    new.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            new.save()
    except IntegrityError:
        raise ValidationError({"state": [_("An amendment of this plan is already being prepared.")]}) from None
    _copy_parts(plan, new)
    audit.record_create(actor, new, event="plan.amendment_started", reason=new.amendment_reason)
    return new


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError({"lock_version": [_("The edit counter of the plan is missing; reload the plan.")]}) from None


@transaction.atomic
def close(actor, plan: IndividualPlan, *, lock_version, reason: str) -> IndividualPlan:
    """Close a plan (it ends) or abandon a version being prepared, with a reason."""
    _require_coordinator(actor, plan)
    _require_state(plan, *IN_PREPARATION, *IN_FORCE, message=_("This plan is closed already."))
    if not _clean_text(reason):
        raise ValidationError({"reason": [_("Say why the plan is closed.")]})
    _bump(plan, lock_version)
    was_in_force = plan.is_in_force
    plan.closed_at, plan.close_reason = timezone.now(), _clean_text(reason)
    _transition(actor, plan, PlanState.CLOSED, event="plan.closed", reason=plan.close_reason,
                fields=["closed_at", "close_reason"])
    if was_in_force:
        clocks.plan_left_force(actor, plan, plan.close_reason)
    return plan


# --- reviews ------------------------------------------------------------------------------------------------


@transaction.atomic
def start_review(actor, plan: IndividualPlan, *, lock_version) -> IndividualPlan:
    _require_team(actor, plan)
    _require_state(plan, PlanState.ACTIVE, message=_("Only an active plan is reviewed."))
    _bump(plan, lock_version)
    _transition(actor, plan, PlanState.UNDER_REVIEW, event="plan.review_started")
    return plan


@transaction.atomic
def record_review(actor, plan: IndividualPlan, *, lock_version, held_on, decision: str, progress: list[dict],
                  summary: str = "", family_present: bool = False, next_review_on=None,
                  amendment_effective_from=None) -> PlanReview:
    """The team records progress per goal and decides: continue, amend or close."""
    _require_team(actor, plan)
    _require_state(plan, *IN_FORCE, message=_("Only a plan in force is reviewed."))
    errors: dict = {}
    today = timezone.localdate()
    summary = _clean_text(summary)
    if held_on is None:
        errors["held_on"] = [_("Give the date of the review.")]
    elif held_on > today:
        errors["held_on"] = [_("The review cannot be recorded before it is held.")]
    elif plan.effective_from and held_on < plan.effective_from:
        errors["held_on"] = [_("The review is before the plan took effect.")]
    if decision not in ReviewDecision.values:
        errors["decision"] = [_("Choose the decision.")]
    goals = {g.pk: g for g in plan.goals.all()}
    seen = set()
    rows = []
    for entry in progress or []:
        goal = entry.get("goal")
        goal_id = getattr(goal, "pk", goal)
        if goal_id not in goals:
            errors["progress"] = [_("Progress is recorded on the goals of this plan version.")]
            continue
        if entry.get("rating") not in Progress.values:
            errors.setdefault("progress", []).append(_("%(goal)s: choose the progress.") % {"goal": goals[goal_id]})
            continue
        seen.add(goal_id)
        rows.append((goals[goal_id], entry["rating"], _clean_text(entry.get("comment"))))
    missing = [g for pk, g in goals.items() if pk not in seen]
    if missing and "progress" not in errors:
        errors["progress"] = [_("Record the progress on every goal: %(goals)s.") % {
            "goals": "; ".join(str(g) for g in missing)}]
    if decision in (ReviewDecision.CONTINUE, ReviewDecision.AMEND):
        if next_review_on is None:
            errors["next_review_on"] = [_("Give the date of the next review.")]
        elif held_on and next_review_on <= max(held_on, today):
            errors["next_review_on"] = [_("The next review is after today.")]
    if decision == ReviewDecision.AMEND:
        start = amendment_effective_from or today
        if plan.effective_from and start < plan.effective_from:
            errors["amendment_effective_from"] = [_(
                "An amendment cannot take effect before the version it changes (effective from %(date)s).") % {
                "date": plan.effective_from.isoformat()}]
        if IndividualPlan.objects.filter(previous=plan, state__in=IN_PREPARATION).exists():
            errors["decision"] = [_("An amendment of this plan is already being prepared.")]
    if decision == ReviewDecision.CLOSE and not summary:
        errors["summary"] = [_("Say why the plan closes.")]
    _raise(errors)
    _bump(plan, lock_version)
    review = PlanReview(plan=plan, held_on=held_on, decision=decision, summary=summary, family_present=bool(family_present),
                        next_review_on=next_review_on if decision != ReviewDecision.CLOSE else None, recorded_by=actor)
    review.full_clean()
    review.save()
    for goal, rating, comment in rows:
        GoalProgress.objects.create(review=review, goal=goal, rating=rating, comment=comment)
    audit.record(actor, AuditEvent.Action.CREATE, review, event="plan.reviewed",
                 changes={"after": {**audit.snapshot(review), "progress": {g.pk: r for g, r, _c in rows}}},
                 learner_id=plan.learner_id)
    if decision == ReviewDecision.CLOSE:
        plan.closed_at, plan.close_reason = timezone.now(), summary
        _transition(actor, plan, PlanState.CLOSED, event="plan.closed", reason=summary, fields=["closed_at", "close_reason"])
        clocks.plan_left_force(actor, plan, plan.close_reason)
    else:
        plan.review_on = next_review_on
        if plan.state != PlanState.ACTIVE:
            _transition(actor, plan, PlanState.ACTIVE, event="plan.review_completed", fields=["review_on"])
        else:
            plan.save(update_fields=["review_on", "lock_version"])
        clocks.plan_reviewed(actor, plan)
        if decision == ReviewDecision.AMEND:
            # The team decided: the draft amendment is opened for the coordinator to prepare.
            _start_amendment(actor, plan, effective_from=amendment_effective_from or today,
                             reason=summary or _("Decided at the review of %(date)s") % {"date": held_on.isoformat()})
    clocks.notify(_family_users(plan), gettext_lazy("The review of your child's plan was recorded"), plan,
                  event="plan.reviewed")
    return review


# --- continuity (used by the handover in ``support``) ------------------------------------------------------


@transaction.atomic
def continue_at(actor, plan: IndividualPlan, *, organization: Organization, enrolment: Enrolment, consent: Consent,
                effective_from=None) -> IndividualPlan:
    """The plan continues at the receiving organization as a new version there (family's handover consent).

    Goals, accommodations and the family's agreement continue; services keep an outside provider, and the
    receiving organization assigns its own specialists by amending the plan.
    """
    if not (consent.purpose == Consent.Purpose.HANDOVER and consent.recipient_id == organization.pk and consent.is_active
            and consent.learner_id == plan.learner_id):
        raise ValidationError({"consent": [_("The family has not consented to a handover to this organization.")]})
    if plan.state not in IN_FORCE:
        raise ValidationError({"plan": [_("Only a plan in force continues at the receiving organization.")]})
    if enrolment.organization_id != organization.pk or enrolment.learner_id != plan.learner_id or \
            enrolment.status != Enrolment.Status.ACTIVE:
        raise ValidationError({"enrolment": [_("The learner has no active enrolment at the receiving organization.")]})
    if open_plan(plan.learner, organization) is not None:
        raise ValidationError({"plan": [_("The receiving organization already has a plan for this learner.")]})
    effective_from = effective_from or max(enrolment.starts_on, plan.effective_from or enrolment.starts_on)
    new = IndividualPlan(
        series=plan.series, version=_next_version(plan), previous=plan, state=PlanState.ACTIVE,
        learner_id=plan.learner_id, organization=organization, enrolment=enrolment, conclusion_id=plan.conclusion_id,
        own_basis=plan.own_basis or "", review_on=plan.review_on, form=plan.form, programme=plan.programme,
        timetable_notes=plan.timetable_notes, strengths=plan.strengths, effective_from=effective_from,
        amendment_reason=_("Continued after the handover from %(org)s") % {"org": plan.organization},
        agreement=plan.agreement, agreed_by_id=plan.agreed_by_id, agreed_at=plan.agreed_at,
        agreement_recorded_by_id=plan.agreement_recorded_by_id, agreement_note=plan.agreement_note,
        activated_at=timezone.now(), created_by=actor,
    )
    if new.review_on <= timezone.localdate():
        new.review_on = timezone.localdate() + dt.timedelta(days=plan_review_days())
    new.full_clean(validate_constraints=False)
    _supersede(actor, plan, new)
    new.save()
    _copy_parts(plan, new, keep_staff=False)
    if is_coordinator(actor, organization):
        _ensure_member(new, actor, MemberRole.COORDINATOR)
    audit.record_create(actor, new, event="plan.continued", reason=new.amendment_reason)
    clocks.plan_activated(actor, new, None)
    return new
