"""The verbs of functioning screening: start, save answers, complete (score), withdraw; and stateless scoring.

Every write takes the acting user first, checks the access policy (``Rec.SCREENING``), runs in
one transaction, validates with ``full_clean()`` and writes an audit event (``screening.started``,
``screening.answers_saved``, ``screening.completed``, ``screening.withdrawn``). Bad input is a
``ValidationError({field: message})`` whose fields are the form's (``interview_date``,
``respondent``, …) or the questions' codes (``CF1``, ``seeing``); an action the user may not take
is ``PermissionDenied`` (pages and the API fetch records through ``visible_to`` first, so a record
out of reach is a 404 before it gets here).

The questionnaire is chosen by the learner's age in completed years **on the interview date**
(``engine.completed_years`` + ``engine.instrument_for_age``): 2-4 CFM 2-4, 5-17 CFM 5-17, 18+ WG-SS;
under 2 no questionnaire applies and the screening is refused. Answers are stored as meanings,
cleaned by the engine (answers of skipped branches are dropped); results are stored on completion.
"""

from __future__ import annotations

import hashlib

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from birge.core import access, audit
from birge.core.access import Rec
from birge.core.models import AuditEvent
from birge.learners import services as learner_services
from birge.learners.models import Guardian, GuardianLink, Learner

from . import engine
from .models import RESPONDENTS_FOR, Respondent, Screening, Status

WG_IDENTIFIERS = ("disability_1", "disability_2", "disability_3", "disability_4")
RESULT_FIELDS = ("domains", "functional_difficulty", "domain_count", *WG_IDENTIFIERS, "missing")


# --- the policy ----------------------------------------------------------------------------------


def may(user, action: str, learner) -> bool:
    """May ``user`` read (or record, with action='write') screenings of this learner?"""
    return learner_services.may(user, action, Rec.SCREENING, learner)


def _require_write(user, screening: Screening) -> None:
    if not access.can_write(user, screening):
        raise PermissionDenied


def fingerprint(instrument: engine.Instrument) -> str:
    """SHA-256 of the questionnaire definition (the file's content), stored with each screening."""
    return hashlib.sha256(instrument._source.encode("utf-8")).hexdigest()


def _instrument(screening: Screening) -> engine.Instrument:
    try:
        return engine.load_instrument(screening.instrument)
    except engine.UnknownInstrument:
        raise ValidationError({"instrument": _("There is no such questionnaire.")}) from None


# --- choosing the questionnaire ----------------------------------------------------------------


def route(learner: Learner, interview_date, respondent: str, instrument: str | None = None):
    """(instrument, age in completed years) for this learner on the interview date, or a ValidationError.

    Without ``instrument`` the questionnaire is the one routed by age (a teacher as respondent gets the
    teacher-reported questionnaire for the age, when one exists); with it, it must apply at that age.
    """
    if interview_date is None:
        raise ValidationError({"interview_date": _("Enter the interview date.")})
    if interview_date > timezone.localdate():
        raise ValidationError({"interview_date": _("The interview date cannot be in the future.")})
    if interview_date < learner.birth_date:
        raise ValidationError({"interview_date": _("The interview date is before the learner's birth date.")})
    if respondent not in Respondent.values:
        raise ValidationError({"respondent": _("Choose who answered the questions.")})
    age = engine.completed_years(learner.birth_date, interview_date)
    if instrument:
        try:
            chosen = engine.load_instrument(instrument)
        except engine.UnknownInstrument:
            raise ValidationError({"instrument": _("There is no such questionnaire.")}) from None
        if not chosen.applies_to_age(age):
            raise ValidationError({"instrument": [engine.Problem(
                "age_out_of_range", {"min": chosen.min_age, "max": chosen.max_age}).message]})
    else:
        chosen = engine.instrument_for_age(age, respondent="teacher" if respondent == Respondent.TEACHER else None)
        if chosen is None and respondent == Respondent.TEACHER and engine.instrument_for_age(age) is not None:
            raise ValidationError({"respondent": _(
                "There is no teacher-reported questionnaire for this age yet; interview a parent or carer.")})
        if chosen is None:
            youngest = min((i.min_age for i in engine.all_instruments() if i.age_routing), default=2)
            raise ValidationError({"interview_date": _(
                "Age on this date in completed years: %(age)d. The functioning questionnaires apply from age %(min)d."
            ) % {"age": age, "min": youngest}})
    if respondent not in RESPONDENTS_FOR.get(chosen.respondent, ()):
        allowed = ", ".join(str(Respondent(r).label) for r in RESPONDENTS_FOR.get(chosen.respondent, ()))
        raise ValidationError({"respondent": _("%(questionnaire)s is answered by: %(allowed)s.") % {
            "questionnaire": chosen.title, "allowed": allowed}})
    return chosen, age


def suggested_instrument(learner: Learner, on=None) -> engine.Instrument | None:
    """The questionnaire routed by the learner's age on a day (today by default), for the start page."""
    on = on or timezone.localdate()
    if on < learner.birth_date:
        return None
    return engine.instrument_for_age(engine.completed_years(learner.birth_date, on))


def current_guardians(learner: Learner):
    """Guardians linked to the learner now (who may answer for the child)."""
    today = timezone.localdate()
    links = GuardianLink.objects.filter(learner=learner, starts_on__lte=today).exclude(ends_on__lte=today)
    return Guardian.objects.filter(pk__in=links.values("guardian_id")).order_by("last_name", "first_name", "pk")


def _check_respondent(learner, respondent, guardian, name, errors: dict) -> None:
    if guardian is not None:
        if respondent not in (Respondent.PARENT, Respondent.CARER):
            errors["respondent_guardian"] = _("A guardian answers as a parent or carer.")
        elif not current_guardians(learner).filter(pk=guardian.pk).exists():
            errors["respondent_guardian"] = _("Choose one of the learner's current guardians.")
    elif respondent in (Respondent.PARENT, Respondent.CARER) and not name:
        errors["respondent_name"] = _("Choose the guardian who answered, or write the respondent's name.")


# --- answers -------------------------------------------------------------------------------------


def answer_errors(instrument: engine.Instrument, answers, *, age=None, require_complete=False) -> dict:
    """Field → message for answers the engine refuses (fields: question codes, ``answers``, ``age``)."""
    return {field: [str(problem.message)] for field, problem in
            engine.answer_problems(instrument, answers, age=age, require_complete=require_complete).items()}


def _raise(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)


def _store_results(screening: Screening, result: engine.ScoreResult) -> None:
    screening.answers = dict(result.answers)
    screening.domains = dict(result.domains)
    screening.functional_difficulty = result.functional_difficulty
    screening.domain_count = result.domain_count
    for name in WG_IDENTIFIERS:
        setattr(screening, name, getattr(result, name))
    screening.missing = list(result.missing)


# --- the verbs -----------------------------------------------------------------------------------


@transaction.atomic
def start_screening(actor, learner: Learner, *, interview_date, respondent: str, respondent_guardian: Guardian | None = None,
                    respondent_name: str = "", organization=None, instrument: str | None = None) -> Screening:
    """A draft screening with the questionnaire for the learner's age on the interview date."""
    learner_services.require(actor, "write", Rec.SCREENING, learner)
    if learner.archived_at is not None:
        raise ValidationError(_("This learner's record is archived; restore it before changing it."))
    chosen, age = route(learner, interview_date, respondent, instrument)
    errors: dict = {}
    name = (respondent_name or "").strip()
    _check_respondent(learner, respondent, respondent_guardian, name, errors)
    org = None
    try:
        org = learner_services.acting_organization(actor, Rec.SCREENING, organization)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    _raise(errors)
    screening = Screening(
        learner=learner, instrument=chosen.code, instrument_version=chosen.version[:300], instrument_hash=fingerprint(chosen),
        interview_date=interview_date, age_years=age, respondent=respondent, respondent_guardian=respondent_guardian,
        respondent_name=name, organization=org, recorded_by=actor if getattr(actor, "pk", None) else None,
        status=Status.DRAFT,
    )
    screening.full_clean()
    screening.save()
    audit.record_create(actor, screening, event="screening.started")
    return screening


def _require_draft(screening: Screening) -> None:
    if screening.status != Status.DRAFT:
        raise ValidationError(_("This screening is not a draft any more; it cannot be changed."))


@transaction.atomic
def save_answers(actor, screening: Screening, answers) -> Screening:
    """Keep the answers of a draft (no completeness check): answers of skipped branches are dropped."""
    _require_write(actor, screening)
    _require_draft(screening)
    instrument = _instrument(screening)
    _raise(answer_errors(instrument, answers))
    before = audit.snapshot(screening)
    screening.answers = engine.clean_answers(instrument, answers)
    screening.instrument_version, screening.instrument_hash = instrument.version[:300], fingerprint(instrument)
    screening.full_clean()
    screening.save()
    audit.record_update(actor, screening, before, event="screening.answers_saved")
    return screening


@transaction.atomic
def complete_screening(actor, screening: Screening, answers=None) -> Screening:
    """Score and close the questionnaire: every shown question needs an answer (``dont_know`` and ``refused``
    are answers; they leave their domain indeterminate)."""
    _require_write(actor, screening)
    _require_draft(screening)
    instrument = _instrument(screening)
    answers = screening.answers if answers is None else answers
    errors = answer_errors(instrument, answers, age=screening.age_years, require_complete=True)
    if "age" in errors:
        errors["interview_date"] = errors.pop("age")
    _raise(errors)
    before = audit.snapshot(screening)
    result = engine.score(instrument, answers)
    _store_results(screening, result)
    screening.instrument_version, screening.instrument_hash = instrument.version[:300], fingerprint(instrument)
    screening.status = Status.COMPLETE
    screening.completed_at = timezone.now()
    screening.full_clean()
    screening.save()
    changes = {"state": [Status.DRAFT.value, Status.COMPLETE.value], **audit.diff(before, audit.snapshot(screening))}
    changes.pop("status", None)
    audit.record(actor, AuditEvent.Action.TRANSITION, screening, event="screening.completed", changes=changes)
    return screening


@transaction.atomic
def record_screening(actor, learner: Learner, *, interview_date, respondent: str, answers, respondent_guardian=None,
                     respondent_name: str = "", organization=None, instrument: str | None = None,
                     complete: bool = True) -> Screening:
    """Start, answer and (by default) complete a screening in one go, all or nothing (the API, imports)."""
    screening = start_screening(actor, learner, interview_date=interview_date, respondent=respondent,
                                respondent_guardian=respondent_guardian, respondent_name=respondent_name,
                                organization=organization, instrument=instrument)
    if complete:
        return complete_screening(actor, screening, answers)
    return save_answers(actor, screening, answers)


@transaction.atomic
def withdraw_screening(actor, screening: Screening, *, reason: str) -> Screening:
    """A screening recorded in error (wrong child, wrong date) is withdrawn with a reason, never deleted."""
    _require_write(actor, screening)
    if screening.status == Status.WITHDRAWN:
        raise ValidationError(_("This screening has been withdrawn already."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the screening is withdrawn.")})
    old = screening.status
    screening.status = Status.WITHDRAWN
    screening.withdrawn_at = timezone.now()
    screening.withdraw_reason = reason
    screening.save(update_fields=["status", "withdrawn_at", "withdraw_reason"])
    audit.record_transition(actor, screening, old, Status.WITHDRAWN, event="screening.withdrawn", reason=reason)
    return screening


def opened(actor, screenings) -> None:
    """Screenings (health-like records) were shown: one read event each."""
    for screening in screenings:
        audit.record_read(actor, screening)


# --- stateless scoring (the score API) ------------------------------------------------------------


class ScoringError(Exception):
    """Input the stateless scoring refuses; ``errors`` is the field map (``answers`` nested by question)."""

    def __init__(self, errors: dict):
        self.errors = errors
        super().__init__(", ".join(errors))


def score_answers(instrument: str, age, answers) -> dict:
    """``{"domains": …, "functional_difficulty": …, "domain_count": n}`` (WG-SS: also ``disability_1..4``).

    Nothing is stored and no one is audited: no person is named. Raises :class:`ScoringError` naming the
    field: ``instrument`` (unknown), ``age`` (not a whole number, or outside the questionnaire's ages),
    ``answers`` (not an object) or ``answers.<code>`` (unknown question or answer).
    """
    try:
        chosen = engine.load_instrument(instrument)
    except engine.UnknownInstrument:
        raise ScoringError({"instrument": [_("There is no such questionnaire.")]}) from None
    problems = engine.answer_problems(chosen, answers, age=age)
    if problems:
        errors: dict = {}
        nested: dict = {}
        for field, problem in problems.items():
            if field in ("age", "answers"):
                errors[field] = [str(problem.message)]
            else:
                nested[field] = [str(problem.message)]
        if nested:
            errors["answers"] = nested
        raise ScoringError(errors)
    return engine.score(chosen, answers).as_api()
