"""The verbs of PMPK assessment: sessions, findings, conclusions, releases.

Every function takes the acting user first, checks the access policy, runs in one
transaction, validates with ``full_clean()`` and writes an audit event. Bad input is
``ValidationError({field: message})`` and nothing is saved; an action the user may not take is
``PermissionDenied`` (pages and the API fetch records with ``visible_to`` first, so a record out
of reach is a 404 before it gets here).

Workflows:

- session: ``scheduled`` → ``held`` | ``cancelled``. Scheduling moves the referral to
  ``scheduled`` (the referrals service demands the family's assessment consent); recording the
  session held moves it to ``assessed``.
- conclusion: ``draft`` → ``issued`` (the PMPK chair signs) → ``superseded`` (by a newer issued
  conclusion) | ``withdrawn`` (with a reason). Issuing moves the referral to ``concluded`` and
  starts the ``conclusion_review`` clock. Issued conclusions are never edited.
- release: the family releases an issued conclusion to an organization under an active
  ``release-conclusion`` consent to it; the release starts that organization's clocks
  (``release_to_plan``; ``service_start`` per service; ``device_delivery`` per device). Revoking
  the release or withdrawing the consent ends the organization's access at once.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy

from birge.core import access, audit, deadlines
from birge.core.access import Rec
from birge.core.models import Membership, Organization, User
from birge.core.roles import EDUCATION_KINDS, Role
from birge.learners import services as learner_services
from birge.learners.models import Consent, Guardian, GuardianLink, Learner, active_consents

from . import integration
from .models import (
    AssessmentSession, Conclusion, ConclusionItem, Finding, IssuedConclusionError, Release, SessionMember, Specialty,
)

CONCLUSION_FIELDS = ("programme", "recommended_form", "with_tutor", "valid_until", "next_review_on", "family_language", "summary")
SESSION_FIELDS = ("scheduled_at", "mode", "place", "remote_details", "invitation_note")
ITEM_FIELDS = ("catalogue", "minutes_per_week", "sessions_per_month", "detail")
MAX_VALIDITY_YEARS = 5
ISSUED_MESSAGE = gettext_lazy("An issued conclusion is never edited. Issue a new conclusion that supersedes it.")


# --- helpers --------------------------------------------------------------------------------------


def _merge(errors: dict, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    else:
        errors.setdefault(NON_FIELD_ERRORS, []).extend(exc.messages)


def _raise(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)


def _clean(obj, errors: dict, exclude=None) -> None:
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        _merge(errors, exc)


def _grant_at(user, organization_id, record_type, action="write", roles=None) -> bool:
    needed = ("w",) if action == "write" else ("r", "w")
    return any(
        g.organization_id == organization_id and access.permission(g.role, record_type) in needed
        and (roles is None or g.role in roles)
        for g in access.grants(user)
    )


def may_run_sessions(user, pmpk_id) -> bool:
    """Does the user work at this PMPK with the right to write assessments?"""
    return _grant_at(user, pmpk_id, Rec.ASSESSMENT)


def may_write_conclusions(user, pmpk_id) -> bool:
    return _grant_at(user, pmpk_id, Rec.CONCLUSION)


def is_chair(user, pmpk_id) -> bool:
    """Only the PMPK's chair signs (issues) a conclusion."""
    return _grant_at(user, pmpk_id, Rec.CONCLUSION, roles={Role.PMPK_CHAIR})


def pmpk_organizations(user) -> list[int]:
    return [g.organization_id for g in access.grants(user)
            if g.organization_id and access.permission(g.role, Rec.ASSESSMENT) == "w"]


def pmpk_staff(pmpk) -> "models.QuerySet[User]":
    """People with an active role at the PMPK: those a session's members are chosen from."""
    today = timezone.localdate()
    ids = Membership.objects.filter(organization=pmpk, starts_on__lte=today).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gt=today)).values("user_id")
    return User.objects.filter(pk__in=ids, is_active=True).order_by("full_name", "username")


def guardian_users(learner) -> list[User]:
    """The family's user accounts: current guardians of the learner who have a login."""
    today = timezone.localdate()
    links = GuardianLink.objects.filter(learner=learner, starts_on__lte=today, guardian__user__isnull=False).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gt=today)).select_related("guardian__user")
    return [link.guardian.user for link in links if link.guardian.user.is_active]


def family_guardian(user, learner) -> Guardian | None:
    """The user's guardian record when they are a current legal representative of the learner."""
    guardian = learner_services.guardian_of(user, learner)
    if guardian is None:
        return None
    today = timezone.localdate()
    link = GuardianLink.objects.filter(learner=learner, guardian=guardian, is_legal_representative=True,
                                       starts_on__lte=today).filter(Q(ends_on__isnull=True) | Q(ends_on__gt=today)).first()
    return guardian if link else None


def _notify(users, message, obj, *, event: str) -> None:
    """In-app notification and e-mail after commit (no personal data in the text; the link carries ids)."""
    integration.notify([u for u in users if u is not None], message, obj, event=event)


def _require_not_archived(learner: Learner) -> None:
    if learner.archived_at is not None:
        raise ValidationError(_("This learner's record is archived; restore it before changing it."))


# --- sessions -------------------------------------------------------------------------------------


def _check_members(pmpk, members, errors: dict) -> list[tuple[User, str, bool]]:
    """members: [(user, specialty, is_chair)] → validated; each from the PMPK's staff, once, one chair."""
    staff = set(pmpk_staff(pmpk).values_list("pk", flat=True))
    out, seen, chairs = [], set(), 0
    for user, specialty, chair in members or []:
        if user is None:
            continue
        if user.pk not in staff:
            errors.setdefault("members", []).append(
                _("%(name)s holds no role at this PMPK.") % {"name": user.full_name or user.username})
            continue
        if specialty not in Specialty.values:
            errors.setdefault("members", []).append(_("Choose the specialty of %(name)s.") % {"name": user.full_name or user.username})
            continue
        if user.pk in seen:
            errors.setdefault("members", []).append(
                _("%(name)s is listed twice.") % {"name": user.full_name or user.username})
            continue
        seen.add(user.pk)
        chairs += bool(chair)
        out.append((user, specialty, bool(chair)))
    if not out and "members" not in errors:
        errors["members"] = [_("Name at least one commission member.")]
    if chairs > 1:
        errors.setdefault("members", []).append(_("Only one member chairs the session."))
    return out


def _check_when(scheduled_at, errors: dict) -> None:
    if scheduled_at is None:
        errors["scheduled_at"] = [_("Give the date and time of the session.")]
    elif scheduled_at < timezone.now() - dt.timedelta(minutes=5):
        errors["scheduled_at"] = [_("A session is scheduled in the future.")]
    elif scheduled_at > timezone.now() + dt.timedelta(days=366):
        errors["scheduled_at"] = [_("A session is scheduled at most a year ahead.")]


def _invite_family(session: AssessmentSession) -> None:
    _notify(guardian_users(session.learner),
            gettext_lazy("The PMPK invites you to an assessment session; see the date and place in Birge"),
            session, event="assessment_session.invited")


@transaction.atomic
def schedule_session(actor, referral, *, scheduled_at, members, mode=AssessmentSession.Mode.IN_PERSON, place="",
                     remote_details="", invite_family=True, invitation_note="") -> AssessmentSession:
    """Schedule the PMPK session for an accepted referral and invite the family."""
    pmpk = integration.referral_pmpk(referral)
    if pmpk is None or not may_run_sessions(actor, pmpk.pk):
        raise PermissionDenied
    learner = integration.referral_learner(referral)
    _require_not_archived(learner)
    errors: dict = {}
    if not integration.referral_is_accepted(referral):
        errors["referral"] = [_("A session is scheduled only for an accepted referral.")]
    _check_when(scheduled_at, errors)
    checked = _check_members(pmpk, members, errors)
    session = AssessmentSession(referral=referral, learner=learner, pmpk=pmpk, scheduled_at=scheduled_at, mode=mode,
                                place=(place or "").strip(), remote_details=(remote_details or "").strip(),
                                invitation_note=(invitation_note or "").strip(), created_by=actor,
                                family_invited_at=timezone.now() if invite_family else None)
    _clean(session, errors, exclude=["referral", "learner", "pmpk"])
    _raise(errors)
    session.save()
    audit.record_create(actor, session, event="assessment_session.scheduled")
    for user, specialty, chair in checked:
        member = SessionMember.objects.create(session=session, user=user, specialty=specialty, is_chair=chair)
        audit.record_create(actor, member, event="session_member.added")
    integration.referral_scheduled(actor, referral, session)  # refuses without the assessment consent
    if invite_family:
        _invite_family(session)
    return session


def _require_session_writer(actor, session) -> None:
    if not may_run_sessions(actor, session.pmpk_id):
        raise PermissionDenied


def _require_scheduled(session) -> None:
    if session.status != AssessmentSession.Status.SCHEDULED:
        raise ValidationError(_("Only a scheduled session can be changed this way."))


@transaction.atomic
def reschedule_session(actor, session: AssessmentSession, **fields) -> AssessmentSession:
    """Move a scheduled session (date, place or how to join); the family is told again."""
    _require_session_writer(actor, session)
    _require_scheduled(session)
    before = audit.snapshot(session)
    errors: dict = {}
    for key in SESSION_FIELDS:
        if key in fields:
            value = fields[key]
            setattr(session, key, value.strip() if isinstance(value, str) else value)
    if "scheduled_at" in fields:
        _check_when(session.scheduled_at, errors)
    _clean(session, errors)
    if errors:
        session.refresh_from_db()
        _raise(errors)
    session.family_invited_at = timezone.now()
    session.save()
    audit.record_update(actor, session, before, event="assessment_session.rescheduled")
    integration.referral_scheduled(actor, session.referral, session)  # the referral carries the new date
    _invite_family(session)
    return session


@transaction.atomic
def add_member(actor, session: AssessmentSession, *, user, specialty, is_chair=False) -> SessionMember:
    _require_session_writer(actor, session)
    if session.status == AssessmentSession.Status.CANCELLED:
        raise ValidationError(_("This session was cancelled."))
    errors: dict = {}
    existing = [(m.user, m.specialty, m.is_chair) for m in session.members.select_related("user")]
    _check_members(session.pmpk, [*existing, (user, specialty, is_chair)], errors)
    if errors:
        raise ValidationError({"user" if "members" in errors else k: v for k, v in errors.items()})
    member = SessionMember.objects.create(session=session, user=user, specialty=specialty, is_chair=bool(is_chair))
    audit.record_create(actor, member, event="session_member.added")
    return member


@transaction.atomic
def remove_member(actor, member: SessionMember, *, reason: str = "") -> None:
    """Take a member off a session (a scheduling correction); a member with findings stays."""
    _require_session_writer(actor, member.session)
    if member.findings.exists():
        raise ValidationError(_("This member has recorded findings and stays on the session."))
    if member.session.status != AssessmentSession.Status.SCHEDULED:
        raise ValidationError(_("Members are changed only while the session is scheduled."))
    audit.record_delete(actor, member, event="session_member.removed", reason=reason)
    member.delete()


def _findings_open(session) -> None:
    if session.status == AssessmentSession.Status.CANCELLED:
        raise ValidationError(_("This session was cancelled."))
    if session.conclusions.exclude(status__in=[Conclusion.Status.DRAFT, Conclusion.Status.WITHDRAWN]).exists():
        raise ValidationError(_("A conclusion based on this session has been issued; its findings are kept as they are."))


@transaction.atomic
def record_finding(actor, session: AssessmentSession, *, member, domain, text, difficulty="", strengths="") -> Finding:
    """One specialist's finding about one area of functioning."""
    _require_session_writer(actor, session)
    _findings_open(session)
    errors: dict = {}
    if member is None or member.session_id != session.pk:
        errors["member"] = [_("Choose a member of this session.")]
    finding = Finding(session=session, member=member if not errors else None, domain=domain, difficulty=difficulty or "",
                      text=(text or "").strip(), strengths=(strengths or "").strip(), recorded_by=actor)
    _clean(finding, errors, exclude=["session", "member"] if errors else ["session"])
    _raise(errors)
    finding.save()
    audit.record(actor, "create", finding, event="finding.recorded", changes={"after": audit.snapshot(finding)},
                 learner_id=session.learner_id)
    return finding


@transaction.atomic
def update_finding(actor, finding: Finding, **fields) -> Finding:
    _require_session_writer(actor, finding.session)
    _findings_open(finding.session)
    before = audit.snapshot(finding)
    errors: dict = {}
    for key in ("domain", "difficulty", "text", "strengths"):
        if key in fields:
            value = fields[key]
            setattr(finding, key, (value or "").strip() if isinstance(value, str) else value)
    _clean(finding, errors)
    if errors:
        finding.refresh_from_db()
        _raise(errors)
    finding.save()
    audit.record(actor, "update", finding, event="finding.changed",
                 changes=audit.diff(before, audit.snapshot(finding)), learner_id=finding.session.learner_id)
    return finding


@transaction.atomic
def record_held(actor, session: AssessmentSession, *, parent_present, attendance_note="", sources=(), observations="",
                held_at=None) -> AssessmentSession:
    """The session took place: attendance, the observations used; the referral becomes assessed."""
    _require_session_writer(actor, session)
    _require_scheduled(session)
    errors: dict = {}
    if parent_present is None:
        errors["parent_present"] = [_("Say whether a parent or legal representative was present.")]
    held_at = held_at or timezone.now()
    if held_at > timezone.now() + dt.timedelta(minutes=5):
        errors["held_at"] = [_("A session is recorded as held once it has taken place.")]
    sources = list(dict.fromkeys(sources or []))
    if not sources:
        errors["sources"] = [_("Say what the findings are based on.")]
    if not session.members.exists():
        errors.setdefault(NON_FIELD_ERRORS, []).append(_("Name at least one commission member."))
    _raise(errors)
    before = session.status
    session.parent_present = bool(parent_present)
    session.attendance_note = (attendance_note or "").strip()
    session.sources = sources
    session.observations = (observations or "").strip()
    session.held_at = held_at
    session.status = AssessmentSession.Status.HELD
    _clean(session, errors)
    if errors:
        session.refresh_from_db()
        _raise(errors)
    session.save()
    audit.record_transition(actor, session, before, session.status, event="assessment_session.held")
    integration.referral_assessed(actor, session.referral, session)
    return session


@transaction.atomic
def cancel_session(actor, session: AssessmentSession, *, reason: str) -> AssessmentSession:
    _require_session_writer(actor, session)
    _require_scheduled(session)
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the session is cancelled.")})
    session.status = AssessmentSession.Status.CANCELLED
    session.cancelled_at = timezone.now()
    session.cancel_reason = reason.strip()
    session.save(update_fields=["status", "cancelled_at", "cancel_reason"])
    audit.record_transition(actor, session, AssessmentSession.Status.SCHEDULED, session.status,
                            event="assessment_session.cancelled", reason=session.cancel_reason)
    integration.referral_session_cancelled(actor, session.referral, session, reason=session.cancel_reason)
    _notify(guardian_users(session.learner), gettext_lazy("The PMPK cancelled an assessment session; see the reason in Birge"),
            session, event="assessment_session.cancelled")
    return session


# --- conclusions ----------------------------------------------------------------------------------


def _require_conclusion_writer(actor, conclusion) -> None:
    if not may_write_conclusions(actor, conclusion.pmpk_id):
        raise PermissionDenied


def _require_draft(conclusion) -> None:
    if conclusion.status != Conclusion.Status.DRAFT:
        raise IssuedConclusionError(ISSUED_MESSAGE)


def _apply_fields(conclusion, fields: dict) -> None:
    for key in CONCLUSION_FIELDS:
        if key in fields and fields[key] is not None:
            value = fields[key]
            setattr(conclusion, key, value.strip() if isinstance(value, str) else value)
        elif key in fields and key in ("valid_until", "next_review_on"):
            setattr(conclusion, key, None)


def _check_dates(conclusion, errors: dict, *, issuing=False) -> None:
    today = timezone.localdate()
    if conclusion.valid_until:
        if conclusion.valid_until <= today:
            errors.setdefault("valid_until", []).append(_("The conclusion must be valid beyond today."))
        elif conclusion.valid_until > today + dt.timedelta(days=366 * MAX_VALIDITY_YEARS):
            errors.setdefault("valid_until", []).append(
                _("A conclusion is valid for at most %(n)d years.") % {"n": MAX_VALIDITY_YEARS})
    elif issuing:
        errors.setdefault("valid_until", []).append(_("Give the date until which the conclusion is valid."))
    if conclusion.next_review_on:
        if conclusion.next_review_on <= today:
            errors.setdefault("next_review_on", []).append(_("The next review is a date in the future."))
    elif issuing:
        errors.setdefault("next_review_on", []).append(_("Give the date of the next review."))


@transaction.atomic
def start_conclusion(actor, session: AssessmentSession, **fields) -> Conclusion:
    """A draft conclusion from a held session."""
    if not may_write_conclusions(actor, session.pmpk_id):
        raise PermissionDenied
    _require_not_archived(session.learner)
    errors: dict = {}
    if session.status != AssessmentSession.Status.HELD:
        errors["session"] = [_("A conclusion is written after the session has been held.")]
    elif session.conclusions.filter(status=Conclusion.Status.DRAFT).exists():
        errors["session"] = [_("A draft conclusion for this session exists already; continue that one.")]
    previous = Conclusion.objects.filter(learner_id=session.learner_id, status=Conclusion.Status.ISSUED).order_by("-issued_at").first()
    conclusion = Conclusion(learner=session.learner, referral=session.referral, session=session, pmpk=session.pmpk,
                            created_by=actor, supersedes=previous)
    guardians = guardian_users(session.learner)
    if guardians and "family_language" not in fields:
        pref = guardians[0].preferred_language
        conclusion.family_language = pref if pref in Conclusion.Language.values else Conclusion.Language.KY
    _apply_fields(conclusion, fields)
    _check_dates(conclusion, errors)
    _clean(conclusion, errors)
    _raise(errors)
    conclusion.save()
    audit.record_create(actor, conclusion, event="conclusion.drafted")
    return conclusion


@transaction.atomic
def update_conclusion(actor, conclusion: Conclusion, **fields) -> Conclusion:
    _require_conclusion_writer(actor, conclusion)
    _require_draft(conclusion)
    before = audit.snapshot(conclusion)
    errors: dict = {}
    _apply_fields(conclusion, fields)
    _check_dates(conclusion, errors)
    _clean(conclusion, errors)
    if errors:
        conclusion.refresh_from_db()
        _raise(errors)
    conclusion.save()
    audit.record_update(actor, conclusion, before, event="conclusion.changed")
    return conclusion


def _build_item(conclusion, data: dict, position: int, errors: dict, prefix: str = "") -> ConclusionItem | None:
    catalogue = data.get("catalogue")
    if catalogue is None:
        errors.setdefault(f"{prefix}catalogue", []).append(_("Choose a recommendation from the catalogue."))
        return None
    if not catalogue.is_active:
        errors.setdefault(f"{prefix}catalogue", []).append(_("This recommendation is no longer in the catalogue."))
        return None
    item = ConclusionItem(conclusion=conclusion, catalogue=catalogue, kind=catalogue.kind, position=position,
                          minutes_per_week=data.get("minutes_per_week"), sessions_per_month=data.get("sessions_per_month"),
                          detail=(data.get("detail") or "").strip())
    try:
        item.full_clean(exclude=["conclusion"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(f"{prefix}{field}", []).extend(messages)
        return None
    return item


@transaction.atomic
def set_items(actor, conclusion: Conclusion, items: list[dict]) -> list[ConclusionItem]:
    """Replace the recommendations of a draft (the builder's rows). Errors name the row: ``items-2-minutes_per_week``."""
    _require_conclusion_writer(actor, conclusion)
    _require_draft(conclusion)
    errors: dict = {}
    built, seen = [], set()
    for index, data in enumerate(items):
        item = _build_item(conclusion, data, index, errors, prefix=f"items-{index}-")
        if item is None:
            continue
        if item.catalogue_id in seen:
            errors.setdefault(f"items-{index}-catalogue", []).append(_("This recommendation is listed twice."))
            continue
        seen.add(item.catalogue_id)
        built.append(item)
    _raise(errors)
    before = [audit.snapshot(i) for i in conclusion.items.all()]
    conclusion.items.all().delete()
    for item in built:
        item.save()
    after = [audit.snapshot(i) for i in built]
    if before != after:
        audit.record(actor, "update", conclusion, event="conclusion.items_changed", changes={"items": [before, after]})
    return built


@transaction.atomic
def add_item(actor, conclusion: Conclusion, **data) -> ConclusionItem:
    _require_conclusion_writer(actor, conclusion)
    _require_draft(conclusion)
    errors: dict = {}
    position = (conclusion.items.aggregate(m=Max("position"))["m"] or 0) + 1
    item = _build_item(conclusion, data, position, errors)
    if item is not None and conclusion.items.filter(catalogue=item.catalogue).exists():
        errors["catalogue"] = [_("This recommendation is in the conclusion already.")]
    _raise(errors)
    item.save()
    audit.record(actor, "create", item, event="conclusion_item.added", changes={"after": audit.snapshot(item)},
                 learner_id=conclusion.learner_id)
    return item


@transaction.atomic
def update_item(actor, item: ConclusionItem, **data) -> ConclusionItem:
    conclusion = item.conclusion
    _require_conclusion_writer(actor, conclusion)
    _require_draft(conclusion)
    before = audit.snapshot(item)
    merged = {k: getattr(item, k) for k in ITEM_FIELDS}
    merged.update({k: v for k, v in data.items() if k in ITEM_FIELDS})
    errors: dict = {}
    built = _build_item(conclusion, merged, item.position, errors)
    if built is not None and conclusion.items.filter(catalogue=built.catalogue).exclude(pk=item.pk).exists():
        errors["catalogue"] = [_("This recommendation is in the conclusion already.")]
    _raise(errors)
    for key in ("catalogue", "kind", "minutes_per_week", "sessions_per_month", "detail"):
        setattr(item, key, getattr(built, key))
    item.save()
    audit.record(actor, "update", item, event="conclusion_item.changed", changes=audit.diff(before, audit.snapshot(item)),
                 learner_id=conclusion.learner_id)
    return item


@transaction.atomic
def remove_item(actor, item: ConclusionItem) -> None:
    """Take a row off a draft (drafts are work in progress; an issued conclusion is never touched)."""
    conclusion = item.conclusion
    _require_conclusion_writer(actor, conclusion)
    _require_draft(conclusion)
    audit.record(actor, "delete", item, event="conclusion_item.removed", changes={"before": audit.snapshot(item)},
                 learner_id=conclusion.learner_id)
    item.delete()


def _next_number(conclusion) -> str:
    year = timezone.localdate().year
    prefix = f"{conclusion.pmpk_id}-{year}-"
    last = Conclusion.objects.filter(number__startswith=prefix).order_by("-number").values_list("number", flat=True).first()
    seq = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{seq:05d}"


@transaction.atomic
def issue_conclusion(actor, conclusion: Conclusion) -> Conclusion:
    """The chair signs: draft → issued (to the family). A superseded conclusion keeps its history."""
    if not may_write_conclusions(actor, conclusion.pmpk_id):
        raise PermissionDenied
    if not is_chair(actor, conclusion.pmpk_id):
        raise ValidationError({NON_FIELD_ERRORS: [_("Only the chair of the PMPK signs and issues a conclusion.")]})
    conclusion = Conclusion.objects.select_for_update().get(pk=conclusion.pk)
    _require_draft(conclusion)
    _require_not_archived(conclusion.learner)
    errors: dict = {}
    _check_dates(conclusion, errors, issuing=True)
    old = conclusion.supersedes
    if old is not None and old.status != Conclusion.Status.ISSUED:
        errors["supersedes"] = [_("The conclusion this one replaces is no longer in force; start a new draft.")]
    _clean(conclusion, errors)
    _raise(errors)
    now = timezone.now()
    conclusion.status = Conclusion.Status.ISSUED
    conclusion.issued_at = now
    conclusion.issued_by = actor
    for _attempt in range(3):
        conclusion.number = _next_number(conclusion)
        try:
            with transaction.atomic():
                conclusion.save()
            break
        except IntegrityError:
            continue
    else:
        raise ValidationError(_("The conclusion could not be numbered; try again."))
    audit.record_transition(actor, conclusion, Conclusion.Status.DRAFT, Conclusion.Status.ISSUED, event="conclusion.issued")
    if old is not None:
        old.status = Conclusion.Status.SUPERSEDED
        old.save()
        audit.record_transition(actor, old, Conclusion.Status.ISSUED, Conclusion.Status.SUPERSEDED,
                                event="conclusion.superseded", reason=_("Superseded by %(number)s") % {"number": conclusion.number})
        integration.stop_conclusion_clocks(actor, old, reason="superseded")
    if conclusion.referral_id:
        integration.referral_concluded(actor, conclusion.referral, conclusion)
    integration.start_review_clock(actor, conclusion)
    _notify(guardian_users(conclusion.learner),
            gettext_lazy("The PMPK issued a conclusion to you; no school sees it until you release it"),
            conclusion, event="conclusion.issued")
    return conclusion


@transaction.atomic
def withdraw_conclusion(actor, conclusion: Conclusion, *, reason: str) -> Conclusion:
    """Withdraw a draft (any PMPK writer) or an issued conclusion (the chair), with a reason."""
    _require_conclusion_writer(actor, conclusion)
    conclusion = Conclusion.objects.select_for_update().get(pk=conclusion.pk)
    if conclusion.status not in (Conclusion.Status.DRAFT, Conclusion.Status.ISSUED):
        raise ValidationError(_("Only a draft or an issued conclusion can be withdrawn."))
    if conclusion.status == Conclusion.Status.ISSUED and not is_chair(actor, conclusion.pmpk_id):
        raise ValidationError({NON_FIELD_ERRORS: [_("Only the chair of the PMPK withdraws an issued conclusion.")]})
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the conclusion is withdrawn.")})
    before = conclusion.status
    conclusion.status = Conclusion.Status.WITHDRAWN
    conclusion.withdrawn_at = timezone.now()
    conclusion.withdrawn_by = actor
    conclusion.withdrawal_reason = reason.strip()
    conclusion.save()
    audit.record_transition(actor, conclusion, before, conclusion.status, event="conclusion.withdrawn",
                            reason=conclusion.withdrawal_reason)
    if before == Conclusion.Status.ISSUED:
        integration.stop_conclusion_clocks(actor, conclusion, reason="withdrawn")
        _notify(guardian_users(conclusion.learner), gettext_lazy("The PMPK withdrew a conclusion; see the reason in Birge"),
                conclusion, event="conclusion.withdrawn")
    return conclusion


@transaction.atomic
def supersede_conclusion(actor, conclusion: Conclusion, *, session: AssessmentSession | None = None) -> Conclusion:
    """Start the correction or review of an issued conclusion: a new draft with the same content that, once
    issued, supersedes it. The issued one stays exactly as it was."""
    _require_conclusion_writer(actor, conclusion)
    if conclusion.status != Conclusion.Status.ISSUED:
        raise ValidationError(_("Only the conclusion in force can be superseded."))
    errors: dict = {}
    if conclusion.superseded_by.filter(status=Conclusion.Status.DRAFT).exists():
        errors[NON_FIELD_ERRORS] = [_("A draft that supersedes this conclusion exists already; continue that one.")]
    if session is not None and (session.learner_id != conclusion.learner_id or session.status != AssessmentSession.Status.HELD):
        errors["session"] = [_("Choose a held session of the same learner.")]
    _raise(errors)
    draft = Conclusion(learner=conclusion.learner, referral=(session.referral if session else conclusion.referral),
                       session=session or conclusion.session, pmpk=conclusion.pmpk, supersedes=conclusion, created_by=actor,
                       **{k: getattr(conclusion, k) for k in CONCLUSION_FIELDS})
    today = timezone.localdate()
    if draft.next_review_on and draft.next_review_on <= today:
        draft.next_review_on = None
    if draft.valid_until and draft.valid_until <= today:
        draft.valid_until = None
    draft.save()
    audit.record_create(actor, draft, event="conclusion.correction_started")
    for item in conclusion.items.all():
        ConclusionItem.objects.create(conclusion=draft, catalogue=item.catalogue, kind=item.kind, position=item.position,
                                      minutes_per_week=item.minutes_per_week, sessions_per_month=item.sessions_per_month,
                                      detail=item.detail)
    return draft


def open_conclusion(actor, conclusion: Conclusion) -> None:
    """Opening a conclusion (page, document or API) is recorded."""
    audit.record_read(actor, conclusion, event="conclusion.read")


def open_session(actor, session: AssessmentSession) -> None:
    audit.record_read(actor, session, event="assessment_session.read")


# --- releases -------------------------------------------------------------------------------------


def release_targets():
    """Organizations a conclusion can be released to: active education organizations."""
    return Organization.objects.filter(kind__in=EDUCATION_KINDS, is_active=True).select_related("territory")


def may_release(actor, conclusion) -> bool:
    return family_guardian(actor, conclusion.learner) is not None or may_write_conclusions(actor, conclusion.pmpk_id)


def _check_consent(consent, conclusion, organization, errors: dict) -> None:
    if consent is None:
        errors["consent"] = [_("The family's written consent to release the conclusion to this organization is needed.")]
        return
    if consent.learner_id != conclusion.learner_id or consent.purpose != Consent.Purpose.RELEASE_CONCLUSION:
        errors["consent"] = [_("This consent is not the family's consent to release this child's conclusion.")]
    elif organization is not None and consent.recipient_id != organization.pk:
        errors["consent"] = [_("This consent names another organization. The family consents to each organization.")]
    elif not consent.is_active:
        errors["consent"] = [_("This consent has been withdrawn or has expired.")]


@transaction.atomic
def release_conclusion(actor, conclusion: Conclusion, *, organization, consent: Consent | None = None,
                       give_consent: bool = False, paper_consent: dict | None = None) -> Release:
    """Release an issued conclusion to an organization the family chose.

    The consent is one of: an existing active ``release-conclusion`` consent to that organization
    (``consent``); the parent's own consent given now in the system (``give_consent``); or a paper
    consent the PMPK records now for the family (``paper_consent``: given_by, given_at, document).
    """
    guardian = family_guardian(actor, conclusion.learner)
    if guardian is None and not may_write_conclusions(actor, conclusion.pmpk_id):
        raise PermissionDenied
    _require_not_archived(conclusion.learner)
    conclusion = Conclusion.objects.select_for_update().get(pk=conclusion.pk)
    errors: dict = {}
    if conclusion.status != Conclusion.Status.ISSUED:
        errors["conclusion"] = [_("Only an issued conclusion in force can be released.")]
    if organization is None:
        errors["organization"] = [_("Choose the organization.")]
    elif organization.kind not in EDUCATION_KINDS or not organization.is_active:
        errors["organization"] = [_("A conclusion is released to a kindergarten, school or other education organization.")]
    elif Release.objects.filter(conclusion=conclusion, organization=organization, revoked_at__isnull=True).exists():
        errors["organization"] = [_("The conclusion has been released to this organization already.")]
    _raise(errors)
    scope = _("Release of PMPK conclusion No. %(number)s and its recommendations") % {"number": conclusion.number}
    if consent is None and give_consent:
        if guardian is None:
            errors["give_consent"] = [_("Only the parent gives consent in the system; record the signed paper instead.")]
            _raise(errors)
        consent = learner_services.record_consent(actor, conclusion.learner, purpose=Consent.Purpose.RELEASE_CONCLUSION,
                                                  method=Consent.Method.IN_SYSTEM, recipient=organization, scope=scope,
                                                  given_by=guardian)
    elif consent is None and paper_consent:
        paper_consent = dict(paper_consent)
        signed = paper_consent.get("given_at")
        if isinstance(signed, dt.date) and not isinstance(signed, dt.datetime):
            # a paper signed today is given now; an earlier day at noon
            paper_consent["given_at"] = timezone.now() if signed == timezone.localdate() else timezone.make_aware(
                dt.datetime.combine(signed, dt.time(12)))
        consent = learner_services.record_consent(actor, conclusion.learner, purpose=Consent.Purpose.RELEASE_CONCLUSION,
                                                  method=Consent.Method.PAPER, recipient=organization, scope=scope,
                                                  **paper_consent)
    _check_consent(consent, conclusion, organization, errors)
    _raise(errors)
    release = Release(conclusion=conclusion, organization=organization, consent=consent, released_by=actor)
    _clean(release, errors)
    _raise(errors)
    release.save()
    audit.record(actor, "create", release, event="conclusion.released", changes={"after": audit.snapshot(release)},
                 learner_id=conclusion.learner_id)
    integration.start_release_clocks(actor, release)
    _notify_release(release)
    return release


@transaction.atomic
def release_by_number(actor, learner: Learner, *, number: str, consent: Consent) -> Release:
    """An organization's coordinator records the family's paper consent and the conclusion's number
    (from the paper the family brought): the release to the coordinator's organization."""
    errors: dict = {}
    org_ids = [g.organization_id for g in access.grants(actor)
               if g.organization_id and g.role == Role.SCHOOL_COORDINATOR]
    if not org_ids:
        raise PermissionDenied
    if consent is None or consent.recipient_id not in org_ids:
        errors["consent"] = [_("Choose the family's consent to release the conclusion to your organization.")]
        _raise(errors)
    conclusion = Conclusion.objects.filter(learner=learner, number=(number or "").strip(),
                                           status=Conclusion.Status.ISSUED).first()
    if conclusion is None:
        errors["number"] = [_("No conclusion in force has this number for this learner. Check the number on the paper.")]
    else:
        _check_consent(consent, conclusion, consent.recipient, errors)
    _raise(errors)
    if Release.objects.filter(conclusion=conclusion, organization_id=consent.recipient_id, revoked_at__isnull=True).exists():
        raise ValidationError({"number": _("The conclusion has been released to this organization already.")})
    release = Release.objects.create(conclusion=conclusion, organization=consent.recipient, consent=consent, released_by=actor)
    audit.record(actor, "create", release, event="conclusion.released", changes={"after": audit.snapshot(release)},
                 learner_id=conclusion.learner_id, reason=str(_("Paper consent recorded by the organization")))
    integration.start_release_clocks(actor, release)
    _notify_release(release)
    return release


def _notify_release(release) -> None:
    coordinators = deadlines.organization_users(release.organization, [Role.SCHOOL_COORDINATOR])
    _notify(list(coordinators), gettext_lazy("A family released a PMPK conclusion to your organization; its "
                                              "recommendations are now your obligations"),
            release, event="conclusion.released")


def may_revoke(actor, release) -> bool:
    return (family_guardian(actor, release.conclusion.learner) is not None
            or may_write_conclusions(actor, release.conclusion.pmpk_id))


@transaction.atomic
def revoke_release(actor, release: Release, *, reason: str, withdraw_consent: bool = True) -> Release:
    """The family takes the conclusion back from the organization: its access and obligations end at once."""
    if not may_revoke(actor, release):
        raise PermissionDenied
    if release.revoked_at is not None:
        raise ValidationError(_("This release has been revoked already."))
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the release is revoked.")})
    release.revoked_at = timezone.now()
    release.revoked_by = actor
    release.revoke_reason = reason.strip()
    release.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    audit.record(actor, "transition", release, event="release.revoked", changes={"state": ["released", "revoked"]},
                 reason=release.revoke_reason, learner_id=release.conclusion.learner_id)
    consent = release.consent
    still_used = Release.objects.filter(consent=consent, revoked_at__isnull=True).exists()
    if withdraw_consent and consent.withdrawn_at is None and not still_used:
        learner_services.withdraw_consent(actor, consent, reason=release.revoke_reason)
    integration.stop_release_clocks(actor, release, reason="revoked")
    return release


def binding_conclusion(learner, organization) -> Conclusion | None:
    """The issued, not superseded conclusion released to the organization under a still-active consent."""
    from .policy import active_releases

    learner_id = getattr(learner, "pk", learner)
    org_id = getattr(organization, "pk", organization)
    released = Release.objects.filter(active_releases([org_id])).values("conclusion_id")
    return (Conclusion.objects.filter(learner_id=learner_id, status=Conclusion.Status.ISSUED, pk__in=released)
            .order_by("-issued_at").first())


def active_release_consents(learner, organization):
    return active_consents(Consent.Purpose.RELEASE_CONCLUSION).filter(learner=learner, recipient=organization)

