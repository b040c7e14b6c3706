"""Where assessments meet the apps and mechanisms it builds on: the referral workflow
(``birge.referrals.services``) and the one deadline mechanism (``birge.core.deadlines``).

Kept in one place so the rest of the app speaks only of sessions, conclusions and releases.
Every function runs inside the caller's transaction.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _, gettext_lazy

from birge.core import access, deadlines
from birge.core.deadline_models import Clock, Deadline
from birge.referrals import services as referral_services
from birge.referrals.models import Referral, State

# --- referrals ----------------------------------------------------------------------------------------


def referral_pmpk(referral):
    return referral.receiving_organization


def referral_learner(referral):
    return referral.learner


def _active_sessions(referral):
    from .models import AssessmentSession

    return AssessmentSession.objects.filter(referral=referral).exclude(status=AssessmentSession.Status.CANCELLED)


def referral_is_accepted(referral) -> bool:
    """A session may be scheduled: the referral is accepted (or scheduled, with its session cancelled)."""
    if referral.kind != Referral.Kind.PMPK:
        return False
    if referral.state == State.ACCEPTED:
        return not _active_sessions(referral).exists()
    return referral.state == State.SCHEDULED and not _active_sessions(referral).exists()


def referrals_to_schedule(user):
    """Accepted referrals to this user's PMPKs that have no session yet."""
    from .models import AssessmentSession
    from .services import pmpk_organizations

    orgs = pmpk_organizations(user)
    if not orgs:
        return Referral.objects.none()
    active = AssessmentSession.objects.filter(referral=OuterRef("pk")).exclude(status=AssessmentSession.Status.CANCELLED)
    return (Referral.objects.visible_to(user)
            .filter(kind=Referral.Kind.PMPK, receiving_organization_id__in=orgs, state__in=[State.ACCEPTED, State.SCHEDULED])
            .exclude(Exists(active)).select_related("learner").order_by("accepted_at", "pk"))


def get_referral_or_404(user, pk):
    return access.get_visible_or_404(user, Referral.objects.select_related("learner", "receiving_organization"), pk=pk)


def _rename(exc: ValidationError, names: dict) -> ValidationError:
    if not hasattr(exc, "error_dict"):
        return exc
    return ValidationError({names.get(k, k): v for k, v in exc.error_dict.items()})


SCHEDULE_FIELDS = {"appointment_at": "scheduled_at", "appointment_place": "place", "state": "referral"}


def referral_scheduled(actor, referral, session) -> None:
    """Move the referral to ``scheduled`` with the session's date (refused without the assessment consent)."""
    place = session.place if session.mode == session.Mode.IN_PERSON else _("Remote session")
    try:
        referral_services.schedule(actor, referral, appointment_at=session.scheduled_at, appointment_place=place[:300])
    except ValidationError as exc:
        raise _rename(exc, SCHEDULE_FIELDS) from None


def referral_assessed(actor, referral, session) -> None:
    referral.refresh_from_db()
    if referral.state == State.SCHEDULED:
        try:
            referral_services.mark_assessed(actor, referral)
        except ValidationError as exc:
            raise _rename(exc, {"state": "referral"}) from None
    elif referral.state in (State.WITHDRAWN, State.DECLINED):
        raise ValidationError({"referral": _("The referral was closed (%(state)s); the session cannot be recorded.")
                               % {"state": referral.get_state_display()}})


def referral_session_cancelled(actor, referral, session, *, reason="") -> None:
    """The referral stays ``scheduled``: the PMPK schedules a new session from it."""


def referral_concluded(actor, referral, conclusion) -> None:
    """Issuing moves the referral to ``concluded``; the referrals service stops its conclude clock."""
    referral.refresh_from_db()
    if referral.state == State.ASSESSED:
        referral_services.conclude(actor, referral)


# --- clocks -----------------------------------------------------------------------------------------


def start_review_clock(actor, conclusion) -> None:
    deadlines.start_clock(actor, conclusion, Clock.CONCLUSION_REVIEW, owner_organization=conclusion.pmpk,
                          learner=conclusion.learner_id, due_on=conclusion.next_review_on, restart=True)


def start_release_clocks(actor, release) -> list:
    """The release binds the organization: a plan within ``release_to_plan`` days, each service
    arranged (``service_start``), each device requested (``device_delivery``)."""
    from .models import CatalogueItem, Obligation

    conclusion = release.conclusion
    started = [deadlines.start_clock(actor, release, Clock.RELEASE_TO_PLAN, owner_organization=release.organization,
                                     learner=conclusion.learner_id, start=release.released_at)]
    kinds = {CatalogueItem.Kind.SERVICE: (Obligation.Kind.SERVICE, Clock.SERVICE_START),
             CatalogueItem.Kind.DEVICE: (Obligation.Kind.DEVICE, Clock.DEVICE_DELIVERY)}
    for item in conclusion.items.filter(kind__in=list(kinds)).order_by("position", "id"):
        kind, clock = kinds[item.kind]
        obligation = Obligation.objects.create(release=release, item=item, catalogue_id=item.catalogue_id, kind=kind,
                                               learner_id=conclusion.learner_id, organization=release.organization,
                                               created_at=release.released_at)
        started.append(deadlines.start_clock(actor, obligation, clock, owner_organization=release.organization,
                                             learner=conclusion.learner_id, start=release.released_at))
    return started


def stop_release_clocks(actor, release, *, reason: str) -> None:
    """The release ended (revoked, consent withdrawn, conclusion replaced or withdrawn): its open clocks are cancelled."""
    text = str(REASONS.get(reason, reason))
    deadlines.cancel_clock(actor, release, reason=text)
    for obligation in release.obligations.all():
        deadlines.cancel_clock(actor, obligation, reason=text)


def stop_conclusion_clocks(actor, conclusion, *, reason: str) -> None:
    """A conclusion left force: its review clock is met (superseded) or cancelled (withdrawn); its releases' clocks end."""
    if reason == "superseded":
        deadlines.stop_clock(actor, conclusion, Clock.CONCLUSION_REVIEW)
    else:
        deadlines.cancel_clock(actor, conclusion, Clock.CONCLUSION_REVIEW, reason=str(REASONS.get(reason, reason)))
    for release in conclusion.releases.filter(revoked_at__isnull=True):
        stop_release_clocks(actor, release, reason=reason)


def obligations_for(releases) -> dict:
    """{release id: [deadlines of the release and its obligations]} for the organization's view."""
    from django.contrib.contenttypes.models import ContentType

    from .models import Obligation, Release

    releases = list(releases)
    if not releases:
        return {}
    ids = [r.pk for r in releases]
    obligations = {o.pk: o for o in Obligation.objects.filter(release_id__in=ids).select_related("catalogue", "item")}
    ct_release = ContentType.objects.get_for_model(Release)
    ct_obligation = ContentType.objects.get_for_model(Obligation)
    rows = Deadline.objects.filter(content_type=ct_release, object_id__in=ids) | Deadline.objects.filter(
        content_type=ct_obligation, object_id__in=list(obligations))
    out: dict = {pk: [] for pk in ids}
    for d in rows.order_by("due_on", "id"):
        if d.content_type_id == ct_release.pk:
            d.obligation = None
            out[d.object_id].append(d)
        else:
            d.obligation = obligations[d.object_id]
            out[d.obligation.release_id].append(d)
        d.abs_days = abs(d.days_left)
    for release in releases:
        release.deadlines = out.get(release.pk, [])
    return out


def notify(users, message, obj=None, *, event: str = "") -> None:
    """In-app notification and e-mail after commit; the text carries no personal data, the link ids only."""
    link = obj.get_absolute_url() if obj is not None and hasattr(obj, "get_absolute_url") else ""
    deadlines.notify(users, message, link, event=event)


REASONS = {
    "revoked": gettext_lazy("The family revoked the release."),
    "consent-withdrawn": gettext_lazy("The family withdrew the consent to the release."),
    "superseded": gettext_lazy("The conclusion was superseded by a new one."),
    "withdrawn": gettext_lazy("The conclusion was withdrawn."),
}
