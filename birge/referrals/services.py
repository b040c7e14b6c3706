"""The verbs of early identification and referral to the PMPK.

Each function takes the acting user first, checks the access policy, runs in one transaction,
validates (``full_clean``) and writes an audit event. Bad input is a
``ValidationError({field: message})``; an action the user's role may not take on a record they
can see is ``PermissionDenied``. Views, the API and the demo never write the models directly.

The workflow is the table :data:`TRANSITIONS`: for each action, the states it starts from, the
state it leads to, and which party may take it:

* ``referrer`` — a member of the referring organization whose role may write referrals, or the
  parent who made the referral;
* ``receiver`` — a member of the receiving PMPK (or early-intervention service) whose role may
  write referrals (PMPK chair and members);
* ``parent`` — a legal representative of the child with a parent account.

Clocks (``birge.core.deadlines``): ``referral_acknowledge`` runs from submission to acceptance
(or a decline: the PMPK answered), ``referral_conclude`` from acceptance to the conclusion. A
withdrawal cancels what runs. Notifications go after commit.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy

from birge.core import access, audit, deadlines
from birge.core.access import Rec
from birge.core.deadline_models import Clock
from birge.core.models import AuditEvent, Organization, Territory
from birge.core.roles import EDUCATION_KINDS, PMPK_KINDS, OrgKind, Role
from birge.learners import services as learner_services
from birge.learners.models import Consent, GuardianLink, Learner

from .models import OPEN_STATES, Attachment, Concern, Domain, Observation, Referral, State

REFERRER, RECEIVER, PARENT = "referrer", "receiver", "parent"

# extension -> (content type, magic bytes the file starts with)
ATTACHMENT_TYPES = {".pdf": ("application/pdf", b"%PDF"), ".png": ("image/png", b"\x89PNG"),
                    ".jpg": ("image/jpeg", b"\xff\xd8\xff"), ".jpeg": ("image/jpeg", b"\xff\xd8\xff")}
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
EARLY_AGE_LIMIT = 4  # early identification: children from birth to three full years


@dataclass(frozen=True)
class Transition:
    name: str  # the service and API action
    sources: tuple
    target: str
    parties: frozenset
    label: object
    needs_reason: bool = False

    @property
    def slug(self) -> str:
        """The action in URLs and the API (``mark-assessed``)."""
        return self.name.replace("_", "-")


TRANSITIONS: dict[str, Transition] = {t.name: t for t in [
    Transition("submit", (State.DRAFT,), State.SUBMITTED, frozenset({REFERRER}), gettext_lazy("Submit to the PMPK")),
    Transition("accept", (State.SUBMITTED,), State.ACCEPTED, frozenset({RECEIVER}), gettext_lazy("Accept")),
    Transition("schedule", (State.ACCEPTED, State.SCHEDULED), State.SCHEDULED, frozenset({RECEIVER}),
               gettext_lazy("Schedule the assessment")),
    Transition("mark_assessed", (State.SCHEDULED,), State.ASSESSED, frozenset({RECEIVER}), gettext_lazy("Mark as assessed")),
    Transition("conclude", (State.ASSESSED,), State.CONCLUDED, frozenset({RECEIVER}), gettext_lazy("Mark as concluded")),
    Transition("withdraw", (State.DRAFT, State.SUBMITTED, State.ACCEPTED, State.SCHEDULED), State.WITHDRAWN,
               frozenset({REFERRER, PARENT}), gettext_lazy("Withdraw"), needs_reason=True),
    Transition("decline", (State.SUBMITTED, State.ACCEPTED), State.DECLINED, frozenset({RECEIVER}), gettext_lazy("Decline"),
               needs_reason=True),
]}
# When each state was reached.
STAMP = {State.SUBMITTED: "submitted_at", State.ACCEPTED: "accepted_at", State.SCHEDULED: "scheduled_at",
         State.ASSESSED: "assessed_at", State.CONCLUDED: "concluded_at", State.WITHDRAWN: "closed_at",
         State.DECLINED: "closed_at"}
OBSERVATION_STATES = (State.DRAFT, State.SUBMITTED)
ATTACHMENT_STATES = (State.DRAFT, State.SUBMITTED, State.ACCEPTED, State.SCHEDULED)
EDITABLE = ("reason", "tried", "receiving_organization")


def writer_roles() -> list[str]:
    return [r for r in Role if access.permission(r, Rec.REFERRAL) == "w"]


# --- who is who ------------------------------------------------------------------------------------


def parties(user, referral: Referral) -> set[str]:
    """The parts ``user`` plays in this referral (see the module docstring)."""
    out: set[str] = set()
    for grant in access.grants(user):
        if access.permission(grant.role, Rec.REFERRAL) != "w" or not grant.organization_id:
            continue
        if grant.organization_id == referral.referring_organization_id:
            out.add(REFERRER)
        if grant.organization_id == referral.receiving_organization_id:
            out.add(RECEIVER)
    if getattr(user, "is_authenticated", False):
        if referral.by_parent and referral.created_by_id == user.pk:
            out.add(REFERRER)
        if user.has_role(Role.PARENT) and _legal_representative(user, referral.learner_id):
            out.add(PARENT)
    return out


def _legal_representative(user, learner_id) -> bool:
    today = timezone.localdate()
    return GuardianLink.objects.filter(
        guardian__user=user, learner_id=learner_id, is_legal_representative=True, starts_on__lte=today,
    ).filter(Q(ends_on__isnull=True) | Q(ends_on__gt=today)).exists()


def allowed_transitions(user, referral: Referral) -> list[Transition]:
    """The actions ``user`` may take on ``referral`` now (for buttons; the services check again)."""
    mine = parties(user, referral)
    if not mine:
        return []
    return [t for t in TRANSITIONS.values() if referral.state in t.sources and mine & t.parties]


def can_add_observation(user, referral) -> bool:
    return referral.state in OBSERVATION_STATES and access.can_write(user, referral)


def can_add_attachment(user, referral) -> bool:
    return referral.state in ATTACHMENT_STATES and access.can_write(user, referral)


def can_edit(user, referral) -> bool:
    return referral.state == State.DRAFT and REFERRER in parties(user, referral)


def _writing_organizations(user, record_type=Rec.REFERRAL) -> list[int]:
    return [g.organization_id for g in access.grants(user)
            if g.organization_id and access.permission(g.role, record_type) == "w"]


# --- where a referral goes ---------------------------------------------------------------------------


def _district_of(territory: Territory) -> Territory:
    if territory.level in Territory.DISTRICT_LEVELS or territory.level in Territory.TOP_LEVELS:
        return territory
    return territory.district or territory.region or territory


def receiver_for(learner: Learner, kind: str = Referral.Kind.PMPK) -> Organization | None:
    """The territorial PMPK (or, for early intervention, the early-intervention service first) of the
    child's district; else of the region; else the republican PMPK."""
    district = _district_of(learner.territory)
    kinds = [OrgKind.EARLY_INTERVENTION, OrgKind.PMPK_TERRITORIAL] if kind == Referral.Kind.EARLY_INTERVENTION else [
        OrgKind.PMPK_TERRITORIAL]
    region_prefix = learner.territory.code[:5]
    active = Organization.objects.filter(is_active=True)
    for k in kinds:
        found = active.filter(kind=k, territory__code__startswith=district.prefix).order_by("code").first()
        if found:
            return found
    for k in kinds:
        found = active.filter(kind=k, territory__code__startswith=region_prefix).order_by("code").first()
        if found:
            return found
    return active.filter(kind=OrgKind.PMPK_REPUBLICAN).order_by("code").first()


def receiver_kinds(kind: str) -> set[str]:
    return set(PMPK_KINDS) | ({OrgKind.EARLY_INTERVENTION} if kind == Referral.Kind.EARLY_INTERVENTION else set())


def _check_receiver(kind: str, organization, errors: dict) -> None:
    if organization is None:
        errors["receiving_organization"] = _("No PMPK was found for the child's district: choose one.")
    elif organization.kind not in receiver_kinds(kind):
        errors["receiving_organization"] = _("A referral goes to a PMPK (or, for early intervention, an early-intervention service).")
    elif not organization.is_active:
        errors["receiving_organization"] = _("This organization is closed: choose another.")


def _raise(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)


def _open_duplicate(user, learner, kind, exclude_pk=None, *, drafts: bool = True) -> Referral | None | bool:
    """An open referral of the same kind for this learner: the record when the user sees it, True when
    not. Submitted ones count always; drafts only the user's own (visible) ones, when ``drafts``."""
    qs = Referral.objects.filter(learner=learner, kind=kind, state__in=OPEN_STATES)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    visible = Referral.objects.visible_to(user).filter(pk__in=qs.values("pk"))
    if not drafts:
        qs, visible = qs.exclude(state=State.DRAFT), visible.exclude(state=State.DRAFT)
    found = visible.order_by("pk").first()
    if found is not None:
        return found
    return True if qs.exclude(state=State.DRAFT).exists() else None


def _duplicate_error(found) -> str:
    if found is True:
        return _("This child already has an open referral of this kind, made elsewhere. Ask the PMPK or the family.")
    return _("This child already has an open referral of this kind (No. %(id)s). Open it instead.") % {"id": found.pk}


# --- notifications -----------------------------------------------------------------------------------


def receiver_users(referral: Referral):
    return deadlines.organization_users(referral.receiving_organization, writer_roles())


def family_users(referral: Referral):
    from birge.core.models import User

    today = timezone.localdate()
    links = GuardianLink.objects.filter(learner_id=referral.learner_id, is_legal_representative=True, starts_on__lte=today,
                                        guardian__user__isnull=False).filter(Q(ends_on__isnull=True) | Q(ends_on__gt=today))
    return list(User.objects.filter(pk__in=links.values("guardian__user_id"), is_active=True))


def referrer_users(referral: Referral):
    users = [referral.created_by] if referral.created_by_id and referral.created_by.is_active else []
    return users


MESSAGES = {
    State.SUBMITTED: gettext_lazy("A new referral is waiting in your PMPK queue"),
    State.ACCEPTED: gettext_lazy("The PMPK accepted a referral"),
    State.SCHEDULED: gettext_lazy("The PMPK scheduled an assessment; see the date in Birge"),
    State.CONCLUDED: gettext_lazy("The PMPK concluded a referral"),
    State.DECLINED: gettext_lazy("The PMPK declined a referral; see the reason in Birge"),
    State.WITHDRAWN: gettext_lazy("A referral was withdrawn"),
}


def _notify(actor, referral: Referral, state: str) -> None:
    if state == State.SUBMITTED:
        users = list(receiver_users(referral))
    elif state == State.WITHDRAWN:
        users = list(receiver_users(referral)) if referral.submitted_at else []
        users += family_users(referral) + referrer_users(referral)
    elif state in MESSAGES:
        users = referrer_users(referral) + family_users(referral)
    else:
        return
    users = [u for u in users if u.pk != getattr(actor, "pk", None)]
    deadlines.notify(users, MESSAGES[state], referral.get_absolute_url(), event=f"referral.{state}")


# --- create and edit -----------------------------------------------------------------------------------


def _require_active(learner: Learner) -> None:
    if learner.archived_at is not None:
        raise ValidationError({"learner": _("This learner's record is archived; restore it before referring.")})


@transaction.atomic
def create_referral(actor, learner: Learner, *, kind: str = Referral.Kind.PMPK, receiving_organization=None,
                    referring_organization=None, reason: str = "", tried: str = "", parent_consent: bool = False,
                    submit: bool = False) -> Referral:
    """Open a referral (a draft; with ``submit=True`` submitted at once).

    The referrer is the acting user's organization (``referring_organization``, default their first
    one where they may write referrals) or, for a parent with no such role, the parent. A parent may
    give their consent to the assessment at the same time (``parent_consent``): it is recorded in
    the consent register as given in the system.
    """
    if not learner_services.may(actor, "write", Rec.REFERRAL, learner):
        raise PermissionDenied
    _require_active(learner)
    errors: dict = {}
    if kind not in Referral.Kind.values:
        errors["kind"] = _("Choose the kind of referral.")
        _raise(errors)
    org_ids = _writing_organizations(actor)
    by_parent = False
    guardian = None
    if referring_organization is not None:
        if referring_organization.pk not in org_ids:
            errors["referring_organization"] = _("You do not hold a role at this organization that allows referring.")
    elif org_ids:
        referring_organization = Organization.objects.get(pk=org_ids[0])
    else:
        guardian = learner_services.guardian_of(actor, learner)
        if guardian is None:
            raise PermissionDenied
        by_parent = True
    if parent_consent and not by_parent:
        errors["parent_consent"] = _("Only the parent gives consent in the system. Record the signed consent in the learner's record.")
    receiving_organization = receiving_organization or receiver_for(learner, kind)
    _check_receiver(kind, receiving_organization, errors)
    if "receiving_organization" not in errors and referring_organization is not None \
            and referring_organization.pk == receiving_organization.pk:
        errors["receiving_organization"] = _("An organization does not refer a child to itself.")
    found = _open_duplicate(actor, learner, kind)
    if found is not None:
        errors["learner"] = _duplicate_error(found)
    _raise(errors)
    referral = Referral(kind=kind, learner=learner, receiving_organization=receiving_organization,
                        referring_organization=referring_organization, by_parent=by_parent, referring_guardian=guardian,
                        created_by=actor, reason=(reason or "").strip(), tried=(tried or "").strip())
    referral.full_clean()
    if parent_consent:
        try:
            referral.consent = learner_services.record_consent(
                actor, learner, purpose=Consent.Purpose.ASSESSMENT, method=Consent.Method.IN_SYSTEM,
                scope=_("Assessment by %(pmpk)s") % {"pmpk": receiving_organization}, recipient=receiving_organization)
        except ValidationError as exc:
            raise ValidationError({"parent_consent": exc.messages}) from None
    referral.save()
    audit.record_create(actor, referral, event="referral.created")
    if submit:
        referral = _transition(actor, referral, "submit")
    return referral


@transaction.atomic
def update_referral(actor, referral: Referral, **fields) -> Referral:
    """Change a draft's reason, what was tried, or where it goes (the referrer only)."""
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    if not access.can_write(actor, referral) or REFERRER not in parties(actor, referral):
        raise PermissionDenied
    if referral.state != State.DRAFT:
        raise ValidationError({"state": _("Only a draft is changed; after submission add observations or documents.")})
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    before = audit.snapshot(referral)
    errors: dict = {}
    for name, value in fields.items():
        setattr(referral, name, (value or "").strip() if name in ("reason", "tried") else value)
    if "receiving_organization" in fields:
        _check_receiver(referral.kind, fields["receiving_organization"], errors)
    _raise(errors)
    referral.full_clean()
    referral.save()
    audit.record_update(actor, referral, before, event="referral.updated")
    return referral


# --- the workflow ---------------------------------------------------------------------------------------


def _check_transition(actor, referral: Referral, t: Transition) -> None:
    if not access.can_write(actor, referral) or not (parties(actor, referral) & t.parties):
        raise PermissionDenied
    if referral.state not in t.sources:
        raise ValidationError({"state": _("This cannot be done while the referral is “%(state)s”.")
                               % {"state": referral.get_state_display()}})


def _transition(actor, referral: Referral, name: str, *, reason: str = "", **details) -> Referral:
    t = TRANSITIONS[name]
    referral = Referral.objects.select_for_update(of=("self",)).select_related(
        "learner", "receiving_organization", "referring_organization").get(pk=referral.pk)
    _check_transition(actor, referral, t)
    reason = (reason or "").strip()
    errors: dict = {}
    if t.needs_reason and not reason:
        errors["reason"] = _("Give the reason.")
    if len(reason) > 2000:
        errors["reason"] = _("Keep the reason under 2000 characters.")
    now = timezone.now()
    if name == "submit":
        if not referral.reason:
            errors["reason"] = _("Say why the child is referred before submitting.")
        if referral.learner.archived_at is not None:
            errors["learner"] = _("This learner's record is archived; restore it before referring.")
        _check_receiver(referral.kind, referral.receiving_organization, errors)
        found = _open_duplicate(actor, referral.learner, referral.kind, exclude_pk=referral.pk, drafts=False)
        if found is not None:
            errors["learner"] = _duplicate_error(found)
    if name == "schedule":
        _check_schedule(referral, details, errors, now)
    _raise(errors)
    old = referral.state
    referral.state = t.target
    setattr(referral, STAMP[t.target], now)
    if t.target in (State.WITHDRAWN, State.DECLINED):
        referral.close_reason = reason
    referral.full_clean()
    referral.save()
    audit.record_transition(actor, referral, old, t.target, event=f"referral.{t.target}", reason=reason)
    _clocks(actor, referral, name, now)
    _notify(actor, referral, t.target)
    return referral


def _check_schedule(referral: Referral, details: dict, errors: dict, now) -> None:
    when = details.get("appointment_at")
    if not when:
        errors["appointment_at"] = _("Give the date and time of the assessment.")
    else:
        if isinstance(when, dt.date) and not isinstance(when, dt.datetime):
            when = dt.datetime.combine(when, dt.time(10))
        if timezone.is_naive(when):
            when = timezone.make_aware(when)
        if when < now - dt.timedelta(days=1):
            errors["appointment_at"] = _("The assessment date is in the past.")
        elif when > now + dt.timedelta(days=366):
            errors["appointment_at"] = _("The assessment date is more than a year away.")
        referral.appointment_at = when
    place = (details.get("appointment_place") or "").strip()
    if len(place) > 300:
        errors["appointment_place"] = _("Keep the place under 300 characters.")
    referral.appointment_place = place
    consent = active_assessment_consent(referral.learner)
    if consent is None:
        errors["consent"] = _("The parents' consent to the assessment is not recorded (or was withdrawn). Record it "
                              "in the learner's consents before scheduling.")
    else:
        referral.consent = consent


def active_assessment_consent(learner) -> Consent | None:
    """The latest active consent to a PMPK assessment of this learner."""
    from birge.learners.models import active_consents

    return active_consents(Consent.Purpose.ASSESSMENT).filter(learner=learner).order_by("-given_at").first()


def _clocks(actor, referral: Referral, name: str, now) -> None:
    waiting = dict(waiting_organization=referral.referring_organization,
                   waiting_user=referral.created_by if referral.by_parent else None)
    if name == "submit":
        deadlines.start_clock(actor, referral, Clock.REFERRAL_ACKNOWLEDGE, owner_organization=referral.receiving_organization,
                              start=now, **waiting)
    elif name == "accept":
        deadlines.stop_clock(actor, referral, Clock.REFERRAL_ACKNOWLEDGE, at=now)
        deadlines.start_clock(actor, referral, Clock.REFERRAL_CONCLUDE, owner_organization=referral.receiving_organization,
                              start=now, **waiting)
    elif name == "conclude":
        deadlines.stop_clock(actor, referral, Clock.REFERRAL_CONCLUDE, at=now)
    elif name == "decline":
        deadlines.stop_clock(actor, referral, Clock.REFERRAL_ACKNOWLEDGE, at=now)  # the PMPK answered
        deadlines.cancel_clock(actor, referral, Clock.REFERRAL_CONCLUDE, reason=_("The referral was declined."))
    elif name == "withdraw":
        deadlines.cancel_clock(actor, referral, reason=_("The referral was withdrawn."))


@transaction.atomic
def submit(actor, referral: Referral) -> Referral:
    return _transition(actor, referral, "submit")


@transaction.atomic
def accept(actor, referral: Referral) -> Referral:
    return _transition(actor, referral, "accept")


@transaction.atomic
def schedule(actor, referral: Referral, *, appointment_at, appointment_place: str = "") -> Referral:
    """Set (or move) the assessment date. Needs an active consent to the assessment."""
    return _transition(actor, referral, "schedule", appointment_at=appointment_at, appointment_place=appointment_place)


@transaction.atomic
def mark_assessed(actor, referral: Referral) -> Referral:
    return _transition(actor, referral, "mark_assessed")


@transaction.atomic
def conclude(actor, referral: Referral) -> Referral:
    return _transition(actor, referral, "conclude")


@transaction.atomic
def withdraw(actor, referral: Referral, *, reason: str) -> Referral:
    return _transition(actor, referral, "withdraw", reason=reason)


@transaction.atomic
def decline(actor, referral: Referral, *, reason: str) -> Referral:
    return _transition(actor, referral, "decline", reason=reason)


def perform(actor, referral: Referral, name: str, **data) -> Referral:
    """Run the transition called ``name`` (pages and API)."""
    functions = {"submit": submit, "accept": accept, "schedule": schedule, "mark_assessed": mark_assessed,
                 "conclude": conclude, "withdraw": withdraw, "decline": decline}
    return functions[name](actor, referral, **data)


# --- observations and attachments ---------------------------------------------------------------------


def _acting_org(actor, record_type=Rec.REFERRAL):
    ids = _writing_organizations(actor, record_type) or [g.organization_id for g in access.grants(actor) if g.organization_id]
    return Organization.objects.filter(pk=ids[0]).first() if ids else None


@transaction.atomic
def add_observation(actor, referral: Referral, *, domain: str, text: str, strengths: str = "") -> Observation:
    """A teacher's (or any writer's) observation in one area, while the referral is a draft or submitted."""
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    if not access.can_write(actor, referral):
        raise PermissionDenied
    errors: dict = {}
    if referral.state not in OBSERVATION_STATES:
        errors["state"] = _("Observations are added while the referral is a draft or submitted.")
    if domain not in Domain.values:
        errors["domain"] = _("Choose the area of functioning.")
    if not (text or "").strip():
        errors["text"] = _("Describe what you observed.")
    _raise(errors)
    obs = Observation(referral=referral, domain=domain, text=text.strip(), strengths=(strengths or "").strip(),
                      observed_by=actor, organization=_acting_org(actor))
    obs.full_clean()
    obs.save()
    audit.record(actor, AuditEvent.Action.CREATE, obs, event="referral.observation_added", learner_id=referral.learner_id,
                 changes={"after": audit.snapshot(obs)})
    return obs


def _check_file(upload, errors: dict) -> tuple[str, str]:
    if not upload:
        errors["file"] = _("Choose a file.")
        return "", ""
    name = os.path.basename(getattr(upload, "name", "") or "")
    ext = os.path.splitext(name)[1].lower()
    size = getattr(upload, "size", 0) or 0
    if ext not in ATTACHMENT_TYPES:
        errors["file"] = _("Upload a PDF, JPEG or PNG file.")
    elif size == 0:
        errors["file"] = _("The file is empty.")
    elif size > ATTACHMENT_MAX_BYTES:
        errors["file"] = _("The file is larger than 10 MB.")
    else:
        upload.seek(0)
        head = upload.read(8)
        upload.seek(0)
        if not head.startswith(ATTACHMENT_TYPES[ext][1]):
            errors["file"] = _("The file's content does not match its type (%(ext)s).") % {"ext": ext}
    return name[-200:], ATTACHMENT_TYPES.get(ext, ("application/octet-stream",))[0]


@transaction.atomic
def add_attachment(actor, referral: Referral, *, file, description: str = "") -> Attachment:
    """Store a document (PDF, JPEG, PNG, up to 10 MB) under MEDIA_ROOT with a random name."""
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    if not access.can_write(actor, referral):
        raise PermissionDenied
    errors: dict = {}
    if referral.state not in ATTACHMENT_STATES:
        errors["state"] = _("Documents are added until the assessment.")
    name, content_type = _check_file(file, errors)
    if len((description or "").strip()) > 300:
        errors["description"] = _("Keep the description under 300 characters.")
    _raise(errors)
    att = Attachment(referral=referral, original_name=name, content_type=content_type, size=file.size,
                     description=(description or "").strip(), uploaded_by=actor)
    att.file.save(name, file, save=False)
    try:
        att.full_clean()
        att.save()
        after = audit.snapshot(att, [f.name for f in Attachment._meta.concrete_fields if f.name != "file"])
        after["file"] = att.file.name  # a file is recorded by its stored name
        audit.record(actor, AuditEvent.Action.CREATE, att, event="referral.attachment_added", learner_id=referral.learner_id,
                     changes={"after": after})
    except Exception:
        att.file.delete(save=False)  # nothing half-saved: no file without its record
        raise
    return att


def opened_attachment(actor, attachment: Attachment) -> None:
    audit.record_read(actor, attachment, event="referral.attachment_opened")


# --- history -------------------------------------------------------------------------------------------


def history(user, referral: Referral, limit: int = 200) -> list[AuditEvent]:
    """The audit trail of a referral, its observations and attachments (all visible with it)."""
    obs = [str(i) for i in referral.observations.values_list("pk", flat=True)]
    atts = [str(i) for i in referral.attachments.values_list("pk", flat=True)]
    from django.contrib.contenttypes.models import ContentType

    ct = ContentType.objects.get_for_model(Referral)
    clocks = [str(i) for i in deadlines.Deadline.objects.filter(content_type=ct, object_id=referral.pk).values_list("pk", flat=True)]
    q = (Q(object_type="referrals.referral", object_id=str(referral.pk))
         | Q(object_type="referrals.observation", object_id__in=obs)
         | Q(object_type="referrals.attachment", object_id__in=atts)
         | Q(object_type="core.deadline", object_id__in=clocks))
    return list(AuditEvent.objects.filter(q).order_by("-id")[:limit])


# --- early identification --------------------------------------------------------------------------------


def _reporter(actor, learner) -> tuple[str, Organization | None]:
    """Who noticed, from the actor's role (and the organization where they hold it)."""
    for grant in access.grants(actor):
        if access.permission(grant.role, Rec.CONCERN) != "w":
            continue
        org = Organization.objects.filter(pk=grant.organization_id).first() if grant.organization_id else None
        if grant.role == Role.HEALTH_WORKER:
            return Concern.Reporter.HEALTH_WORKER, org
        if grant.role == Role.SOCIAL_PROTECTION_OFFICER:
            return Concern.Reporter.SOCIAL_WORKER, org
        if grant.role == Role.LOCAL_GOVERNMENT_OFFICER:
            return Concern.Reporter.LOCAL_GOVERNMENT, org
        if org is not None and org.kind in (OrgKind.KINDERGARTEN, OrgKind.EARLY_INTERVENTION):
            return Concern.Reporter.KINDERGARTEN, org
        if org is not None and org.kind in EDUCATION_KINDS | PMPK_KINDS:
            return Concern.Reporter.EDUCATION, org
    if learner_services.guardian_of(actor, learner) is not None:
        return Concern.Reporter.PARENT, None
    raise PermissionDenied


def _clean_noticed(noticed, errors: dict) -> dict:
    if not isinstance(noticed, dict):
        errors["noticed"] = _("Describe what was noticed, by area of functioning.")
        return {}
    out = {}
    unknown = [str(k) for k in noticed if k not in Domain.values]
    if unknown:
        errors["noticed"] = _("Unknown area of functioning: %(codes)s.") % {"codes": ", ".join(unknown)}
        return {}
    for code, text in noticed.items():
        text = (text or "").strip() if isinstance(text, str) else ""
        if text:
            if len(text) > 2000:
                errors["noticed"] = _("Keep each description under 2000 characters.")
            out[code] = text
    if not out and "noticed" not in errors:
        errors["noticed"] = _("Describe what was noticed in at least one area.")
    return out


@transaction.atomic
def record_concern(actor, learner: Learner, *, noticed_on, place: str, noticed: dict, place_detail: str = "",
                   summary: str = "") -> Concern:
    """Record a developmental concern about a child under four; it opens (or joins) an
    early-intervention referral to the early-intervention service or PMPK of the child's district."""
    if not learner_services.may(actor, "write", Rec.CONCERN, learner):
        raise PermissionDenied
    _require_active(learner)
    reporter, org = _reporter(actor, learner)
    errors: dict = {}
    today = timezone.localdate()
    if not noticed_on:
        errors["noticed_on"] = _("Give the day it was noticed.")
    elif noticed_on > today:
        errors["noticed_on"] = _("The day cannot be in the future.")
    elif noticed_on < learner.birth_date:
        errors["noticed_on"] = _("The day is before the child's birth.")
    elif learner.age_on(noticed_on) >= EARLY_AGE_LIMIT:
        errors["learner"] = _("Early identification is for children from birth to three years. Refer an older child "
                              "to the PMPK instead.")
    if place not in Concern.Place.values:
        errors["place"] = _("Say where it was noticed.")
    cleaned = _clean_noticed(noticed, errors)
    _raise(errors)
    concern = Concern(learner=learner, noticed_on=noticed_on, place=place, place_detail=(place_detail or "").strip(),
                      reporter=reporter, noticed=cleaned, summary=(summary or "").strip(), organization=org,
                      recorded_by=actor)
    concern.full_clean()
    referral = Referral.objects.select_for_update().filter(
        learner=learner, kind=Referral.Kind.EARLY_INTERVENTION, state__in=OPEN_STATES).order_by("pk").first()
    opened = referral is None
    if opened:
        receiver = receiver_for(learner, Referral.Kind.EARLY_INTERVENTION)
        _check_receiver(Referral.Kind.EARLY_INTERVENTION, receiver, errors)
        _raise(errors)
        labels = dict(Domain.choices)
        reason = _("Developmental concern noticed on %(date)s:") % {"date": noticed_on.isoformat()} + "\n" + "\n".join(
            f"— {labels[code]}: {text}" for code, text in cleaned.items())
        if concern.summary:
            reason += "\n" + concern.summary
        referral = Referral(kind=Referral.Kind.EARLY_INTERVENTION, learner=learner, receiving_organization=receiver,
                            referring_organization=org, by_parent=org is None,
                            referring_guardian=learner_services.guardian_of(actor, learner) if org is None else None,
                            created_by=actor, reason=reason)
        referral.full_clean()
        referral.save()
        audit.record_create(actor, referral, event="referral.created", reason=_("Opened by a developmental concern."))
    concern.referral = referral
    concern.save()
    audit.record_create(actor, concern, event="concern.recorded")
    if opened:
        referral = _submit_opened(actor, referral)
    return concern


def _submit_opened(actor, referral: Referral) -> Referral:
    """Submit a referral opened by a concern (the system acts for the person who recorded it)."""
    now = timezone.now()
    old = referral.state
    referral.state = State.SUBMITTED
    referral.submitted_at = now
    referral.save(update_fields=["state", "submitted_at"])
    audit.record_transition(actor, referral, old, State.SUBMITTED, event="referral.submitted")
    _clocks(actor, referral, "submit", now)
    _notify(actor, referral, State.SUBMITTED)
    return referral

