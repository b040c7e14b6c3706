"""The verbs of services delivered and of continuity between organizations.

- :func:`log_session`: a specialist or tutor logs a session of a service that the learner's plan in
  force gives *them*; anything else is refused with a clear error.
- :func:`withdraw_session`: a mistaken entry is withdrawn with a reason (never deleted).
- :func:`hand_over`: with the family's handover consent to the receiving organization, that
  organization gets a summary (current conclusion, plan, services, devices, accommodations) and the
  plan continues there as a new version; without the consent nothing is created.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy

from birge.core import audit
from birge.core.models import Organization
from birge.learners.models import Consent, Enrolment, Learner, active_consents
from birge.plans import clocks
from birge.plans import services as plan_services
from birge.plans.models import IN_FORCE, IndividualPlan, PlanService

from .models import MAX_SESSION_MINUTES, Handover, ServiceSession

# --- sessions --------------------------------------------------------------------------------------------


def services_given_by(user):
    """Planned services of plans in force that this user provides."""
    return PlanService.objects.filter(provider_user=user, plan__state__in=IN_FORCE).select_related(
        "plan", "plan__learner", "plan__organization", "catalogue")


def _raise(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def log_session(actor, *, learner: Learner, plan_service: PlanService | None = None, service=None, held_on=None,
                minutes=None, setting: str = ServiceSession.Setting.INDIVIDUAL,
                attendance: str = ServiceSession.Attendance.ATTENDED, missed_reason: str = "",
                note: str = "") -> ServiceSession:
    """Log one session of a service that the learner's plan in force gives the actor."""
    if not Learner.objects.visible_to(actor).filter(pk=learner.pk).exists():
        raise PermissionDenied
    mine = services_given_by(actor).filter(plan__learner=learner)
    errors: dict = {}
    if plan_service is not None:
        chosen = mine.filter(pk=plan_service.pk).first()
        if chosen is None:
            errors["plan_service"] = [_("The learner's plan in force does not give you this service, so no session "
                                        "can be logged for it. Ask the inclusion coordinator to amend the plan.")]
    elif service is not None:
        chosen = mine.filter(catalogue=service).order_by("-plan__effective_from").first()
        if chosen is None:
            errors["service"] = [_("The learner's plan in force does not give you this service, so no session "
                                   "can be logged for it. Ask the inclusion coordinator to amend the plan.")]
    else:
        chosen = None
        errors["plan_service"] = [_("Choose the service.")]
    today = timezone.localdate()
    if held_on is None:
        errors["held_on"] = [_("Give the date of the session.")]
    elif held_on > today:
        errors["held_on"] = [_("A session is logged once it has taken place; the date is in the future.")]
    elif chosen is not None:
        start = max(d for d in (chosen.starts_on, chosen.plan.effective_from) if d) if (
            chosen.starts_on or chosen.plan.effective_from) else None
        if start and held_on < start:
            errors["held_on"] = [_("The service starts on %(date)s under the plan in force.") % {"date": start.isoformat()}]
        elif chosen.ends_on and held_on > chosen.ends_on:
            errors["held_on"] = [_("The service ended on %(date)s.") % {"date": chosen.ends_on.isoformat()}]
    if minutes is None or not 1 <= int(minutes) <= MAX_SESSION_MINUTES:
        errors["minutes"] = [_("A session lasts 1 to 480 minutes.")]
    if attendance == ServiceSession.Attendance.MISSED and not missed_reason:
        errors["missed_reason"] = [_("Say why the session was missed.")]
    if attendance == ServiceSession.Attendance.ATTENDED:
        missed_reason = ""
    _raise(errors)
    session = ServiceSession(plan_service=chosen, learner=learner, organization=chosen.plan.organization, provider=actor,
                             held_on=held_on, minutes=minutes, setting=setting, attendance=attendance,
                             missed_reason=missed_reason, note=(note or "").strip(), recorded_by=actor)
    session.full_clean()
    session.save()
    audit.record_create(actor, session, event="service_session.logged")
    if attendance == ServiceSession.Attendance.ATTENDED:
        clocks.service_started(actor, chosen, held_on)
    return session


@transaction.atomic
def withdraw_session(actor, session: ServiceSession, *, reason: str) -> ServiceSession:
    """A mistaken entry is withdrawn by its provider or the coordinator; it stays in the history."""
    if not ServiceSession.objects.visible_to(actor).filter(pk=session.pk).exists():
        raise PermissionDenied
    if session.provider_id != actor.pk and not plan_services.is_coordinator(actor, session.organization_id):
        raise PermissionDenied
    if session.withdrawn_at is not None:
        raise ValidationError({"reason": [_("This entry has been withdrawn already.")]})
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Say why the entry is withdrawn.")]})
    session.withdrawn_at = timezone.now()
    session.withdrawal_reason = reason.strip()
    session.save(update_fields=["withdrawn_at", "withdrawal_reason"])
    audit.record_transition(actor, session, "logged", "withdrawn", event="service_session.withdrawn", reason=reason.strip())
    return session


# --- continuity ----------------------------------------------------------------------------------------------


def handover_consent(learner, organization) -> Consent | None:
    return active_consents(Consent.Purpose.HANDOVER).filter(learner=learner, recipient=organization).order_by(
        "-given_at").first()


def _names(item) -> dict:
    return {"code": item.code, "ky": item.name_ky, "ru": item.name_ru, "en": item.name_en}


def current_conclusion(learner):
    from birge.assessments.models import Conclusion

    return Conclusion.objects.filter(learner=learner, status=Conclusion.Status.ISSUED).order_by("-issued_at", "-id").first()


def build_summary(learner, plan: IndividualPlan | None) -> dict:
    """What the receiving organization gets: the current conclusion, the plan, services, devices, accommodations."""
    out: dict = {"learner": {"id": learner.pk, "name": learner.full_name, "birth_date": learner.birth_date.isoformat()},
                 "conclusion": None, "plan": None, "services": [], "devices": [], "accommodations": [],
                 "made_on": timezone.localdate().isoformat()}
    conclusion = current_conclusion(learner)
    if conclusion is not None:
        items = list(conclusion.items.select_related("catalogue").order_by("kind", "position", "id"))
        out["conclusion"] = {
            "number": conclusion.number, "issued_on": timezone.localtime(conclusion.issued_at).date().isoformat()
            if conclusion.issued_at else None, "pmpk": str(conclusion.pmpk), "programme": conclusion.programme,
            "recommended_form": conclusion.recommended_form, "with_tutor": conclusion.with_tutor,
            "valid_until": conclusion.valid_until.isoformat() if conclusion.valid_until else None,
            "next_review_on": conclusion.next_review_on.isoformat() if conclusion.next_review_on else None,
            "recommendations": [{**_names(i.catalogue), "kind": i.kind, "minutes_per_week": i.minutes_per_week,
                                 "sessions_per_month": i.sessions_per_month, "detail": i.detail} for i in items],
        }
        out["devices"] = [{**_names(i.catalogue), "detail": i.detail} for i in items if i.kind == "device"]
    if plan is not None:
        out["plan"] = {
            "organization": str(plan.organization), "version": plan.version,
            "effective_from": plan.effective_from.isoformat() if plan.effective_from else None,
            "review_on": plan.review_on.isoformat(), "form": plan.form, "programme": plan.programme,
            "timetable_notes": plan.timetable_notes, "tutor": str(plan.tutor) if plan.tutor_id else "",
            "goals": [{"area": g.area, "description": g.description, "baseline": g.baseline, "target": g.target,
                       "measure": g.measure, "criteria": g.criteria, "review_on": g.review_on.isoformat()}
                      for g in plan.goals.order_by("position", "id")],
        }
        out["services"] = [{**_names(s.catalogue), "minutes_per_week": s.minutes_per_week,
                            "provider": str(s.provider) if s.has_provider else "",
                            "starts_on": s.starts_on.isoformat() if s.starts_on else None,
                            "ends_on": s.ends_on.isoformat() if s.ends_on else None}
                           for s in plan.services.select_related("catalogue", "provider_user", "provider_organization")]
        accommodations = list(plan.accommodations.select_related("catalogue").order_by("position", "id"))
        out["accommodations"] = [{**(_names(a.catalogue) if a.catalogue_id else {"code": ""}), "kind": a.kind,
                                  "description": a.description} for a in accommodations]
        known = {d["code"] for d in out["devices"]}
        out["devices"] += [{**_names(a.catalogue), "detail": a.description} for a in accommodations
                           if a.catalogue_id and a.catalogue.kind == "device" and a.catalogue.code not in known]
    return out


@transaction.atomic
def hand_over(actor, learner: Learner, *, to_organization: Organization, from_organization: Organization | None = None,
              effective_from=None) -> Handover:
    """Hand a learner's summary (and plan) over to the receiving organization, with the family's consent."""
    coordinator_of = set(plan_services.coordinator_organizations(actor))
    sending_ok = from_organization is not None and from_organization.pk in coordinator_of
    if to_organization.pk not in coordinator_of and not sending_ok:
        raise PermissionDenied
    if not Learner.objects.visible_to(actor).filter(pk=learner.pk).exists():
        raise PermissionDenied
    errors: dict = {}
    consent = handover_consent(learner, to_organization)
    if consent is None:
        raise ValidationError({"consent": [_(
            "The family has not given a handover consent to %(org)s, so nothing is handed over. Record the "
            "family's consent (purpose: handover, recipient: %(org)s) first.") % {"org": to_organization}]})
    enrolment = Enrolment.objects.filter(learner=learner, organization=to_organization,
                                         status=Enrolment.Status.ACTIVE).order_by("-starts_on").first()
    if enrolment is None:
        errors["to_organization"] = [_("The learner is not enrolled at %(org)s yet: enrol or transfer the learner first.")
                                     % {"org": to_organization}]
    plans = IndividualPlan.objects.filter(learner=learner, state__in=IN_FORCE).exclude(organization=to_organization)
    if from_organization is not None:
        plans = plans.filter(organization=from_organization)
    from_plan = plans.select_related("organization").order_by("-effective_from", "-id").first()
    if from_organization is None and from_plan is not None:
        from_organization = from_plan.organization
    if from_organization is not None and from_organization.pk == to_organization.pk:
        errors["to_organization"] = [_("The receiving organization is the one the learner leaves.")]
    if enrolment is not None and Handover.objects.filter(learner=learner, to_organization=to_organization,
                                                         enrolment=enrolment).exists():
        errors["to_organization"] = [_("The learner has been handed over to %(org)s already.") % {"org": to_organization}]
    _raise(errors)
    summary = build_summary(learner, from_plan)
    handover = Handover(learner=learner, from_organization=from_organization, to_organization=to_organization,
                        consent=consent, enrolment=enrolment, from_plan=from_plan, summary=summary, created_by=actor)
    note = ""
    if from_plan is not None:
        if plan_services.open_plan(learner, to_organization) is not None:
            note = _("The receiving organization already has its own plan for the learner; the plan was not continued.")
        else:
            handover.to_plan = plan_services.continue_at(actor, from_plan, organization=to_organization, enrolment=enrolment,
                                                         consent=consent, effective_from=effective_from)
    else:
        note = _("The learner had no plan in force; the summary holds the conclusion only.")
    handover.note = note
    handover.full_clean()
    handover.save()
    audit.record_create(actor, handover, event="handover.made", reason=note)
    receivers = [m.user for m in to_organization.memberships.filter(role="school-coordinator").select_related("user")
                 if m.user.is_active]
    clocks.notify(receivers, gettext_lazy("A learner's plan was handed over to your organization"), handover,
                  event="handover.made")
    return handover


def window(on=None, days=7) -> tuple[dt.date, dt.date]:
    end = on or timezone.localdate()
    return end - dt.timedelta(days=days - 1), end


def last_sessions(plan_service_ids) -> dict:
    """The date of the latest session of each planned service (one grouped query)."""
    qs = ServiceSession.objects.filter(plan_service_id__in=plan_service_ids, withdrawn_at__isnull=True)
    return dict(qs.values("plan_service_id").annotate(last=Max("held_on")).values_list("plan_service_id", "last"))


def sessions_since(plan_service_ids, since) -> dict:
    """Minutes delivered per planned service since a date (one grouped query)."""
    qs = ServiceSession.objects.filter(plan_service_id__in=plan_service_ids, withdrawn_at__isnull=True, held_on__gte=since,
                                       attendance=ServiceSession.Attendance.ATTENDED)
    return dict(qs.values("plan_service_id").annotate(m=Sum("minutes")).values_list("plan_service_id", "m"))
