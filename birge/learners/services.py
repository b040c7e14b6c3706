"""The verbs of the learner registry: identity, family and consent, disability, enrolments.

Every function takes the acting user first, checks the access policy
(``birge.core.access``), runs in one transaction, validates with
``full_clean()`` and writes an audit event. Views, the API, the roster import
and commands call these and never write the models directly. Bad input is a
``ValidationError({field: message})``; an action the user may not take is
``PermissionDenied`` (pages and the API fetch records through
``visible_to``/``get_visible_or_404`` first, so a record out of reach is a 404
before it gets here).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from birge.core import access, audit, names
from birge.core.access import Rec
from birge.core.models import LANGUAGES_OF_INSTRUCTION, AuditEvent, Membership, Organization, Territory, User
from birge.core.pin import PinError, parse_pin, pin_mismatches
from birge.core.roles import EDUCATION_KINDS, SPECIALIST_ROLES, OrgKind, Role

from .models import (
    Assignment, Consent, Diagnosis, DisabilityStatus, Enrolment, FormOfEducation, Guardian, GuardianLink, Learner, Level,
    PinChange, Programme, Sex, active_consents,
)

MAX_AGE_YEARS = 120
LEARNER_FIELDS = ("pin", "last_name", "first_name", "patronymic", "birth_date", "sex", "territory", "address", "languages")
LEARNER_EDITABLE = ("last_name", "first_name", "patronymic", "birth_date", "sex", "territory", "address", "languages")
GUARDIAN_FIELDS = ("last_name", "first_name", "patronymic", "pin", "phone", "email", "preferred_language")
ENROLMENT_DETAILS = ("grade", "class_name", "form", "programme", "with_tutor", "language")

# Which kinds of organization teach at which level.
LEVEL_ORG_KINDS = {
    Level.EARLY_INTERVENTION: {OrgKind.EARLY_INTERVENTION, OrgKind.KINDERGARTEN, OrgKind.SPECIAL_SCHOOL},
    Level.KINDERGARTEN: {OrgKind.KINDERGARTEN, OrgKind.SPECIAL_SCHOOL, OrgKind.BOARDING_SCHOOL},
    Level.PRESCHOOL_PREPARATION: {OrgKind.KINDERGARTEN, OrgKind.SCHOOL, OrgKind.SPECIAL_SCHOOL, OrgKind.BOARDING_SCHOOL},
    Level.SCHOOL: {OrgKind.SCHOOL, OrgKind.SPECIAL_SCHOOL, OrgKind.BOARDING_SCHOOL},
    Level.VOCATIONAL_PRIMARY: {OrgKind.VOCATIONAL_PRIMARY, OrgKind.VOCATIONAL_SECONDARY},
    Level.VOCATIONAL_SECONDARY: {OrgKind.VOCATIONAL_SECONDARY},
    Level.UNIVERSITY: {OrgKind.UNIVERSITY},
}
# Forms of education that only some kinds of organization provide.
FORM_ORG_KINDS = {
    FormOfEducation.SPECIAL_SCHOOL: {OrgKind.SPECIAL_SCHOOL, OrgKind.BOARDING_SCHOOL},
    FormOfEducation.BOARDING: {OrgKind.BOARDING_SCHOOL, OrgKind.SPECIAL_SCHOOL},
}
DOCUMENT_TYPES = {".pdf", ".jpg", ".jpeg", ".png"}
DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
ICD10 = re.compile(r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$")


# --- errors the callers show in their own way ---------------------------------------------------


class DuplicatePin(ValidationError):
    """The PIN belongs to a registered learner; ``existing`` is set only when the user may see them."""

    def __init__(self, existing: Learner | None):
        self.existing = existing
        if existing is not None:
            message = _("A learner with this PIN is already registered: %(name)s (record %(id)s). Open that record instead.") % {
                "name": existing.full_name, "id": existing.pk}
        else:
            message = _("A learner with this PIN is already registered, outside your reach. Ask the organization "
                        "where the child is enrolled, or check the PIN.")
        super().__init__({"pin": [message]})


class PossibleDuplicates(ValidationError):
    """Learners with the same birth date and a name that folds alike (only those the user may see)."""

    def __init__(self, candidates: list[Learner]):
        self.candidates = candidates
        super().__init__({NON_FIELD_ERRORS: [_(
            "%(n)d registered learner(s) have the same birth date and a similar name. Open the existing record, "
            "or confirm that this is a new child.") % {"n": len(candidates)}]})


# --- the policy for records about one learner ---------------------------------------------------


def may(user, action: str, record_type: str, learner) -> bool:
    """May ``user`` read/write records of ``record_type`` about this learner (e.g. to add one)?

    Composes the access policy's own parts (grants, the matrix, learner reach) so a new record
    is allowed exactly when the same record, once saved, would be within the user's reach.
    """
    needed = {"read": ("r", "w"), "write": ("w",)}[action]
    q = None
    for grant in access.grants(user):
        if access.permission(grant.role, record_type) not in needed:
            continue
        gq = access.learner_scope_q(grant)
        if gq == Q():
            return True
        q = gq if q is None else q | gq
    if q is None:
        return False
    pk = getattr(learner, "pk", learner)
    return Learner.objects.filter(pk=pk).filter(q).exists()


def require(user, action: str, record_type: str, learner) -> None:
    if not may(user, action, record_type, learner):
        raise PermissionDenied


def require_write(user, obj) -> None:
    if not access.can_write(user, obj):
        raise PermissionDenied


def _require_active(learner: Learner) -> None:
    if learner.archived_at is not None:
        raise ValidationError(_("This learner's record is archived; restore it before changing it."))


def acting_organization(user, record_type: str = Rec.LEARNER, organization: Organization | None = None):
    """The organization on whose behalf the user writes (the first where their role may write)."""
    org_ids = [g.organization_id for g in access.grants(user)
               if g.organization_id and access.permission(g.role, record_type) == "w"]
    if organization is not None:
        if organization.pk not in org_ids:
            raise ValidationError({"organization": _("You do not hold a role at this organization that allows this.")})
        return organization
    return Organization.objects.filter(pk=org_ids[0]).first() if org_ids else None


# --- validation helpers ---------------------------------------------------------------------------


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _check_birth_date(value, errors: dict) -> None:
    if not isinstance(value, dt.date):
        return
    today = timezone.localdate()
    if value > today:
        errors.setdefault("birth_date", _("The birth date is in the future."))
    elif value < _years_before(today, MAX_AGE_YEARS):
        errors.setdefault("birth_date", _("The birth date is more than 120 years ago."))


def _check_languages(value: str, errors: dict) -> str:
    codes = [c.strip() for c in (value or "").split(",") if c.strip()]
    bad = [c for c in codes if c not in LANGUAGES_OF_INSTRUCTION]
    if bad:
        errors["languages"] = _("Unknown language code: %(codes)s; use %(known)s.") % {
            "codes": ", ".join(bad), "known": ", ".join(LANGUAGES_OF_INSTRUCTION)}
    return ",".join(codes)


def check_pin(pin: str, birth_date, sex, *, confirm_mismatch: bool, errors: dict) -> bool:
    """Validate a PIN against the entered values; returns whether a mismatch was confirmed."""
    pin = (pin or "").strip()
    if not pin:
        return False
    try:
        info = parse_pin(pin)
    except PinError as exc:
        errors["pin"] = exc.message
        return False
    mismatched = pin_mismatches(info, birth_date if isinstance(birth_date, dt.date) else None, sex or None)
    if mismatched and not confirm_mismatch:
        if "birth_date" in mismatched:
            errors.setdefault("birth_date", _(
                "The PIN gives the birth date %(date)s. Check both; if the entered date is right, confirm the mismatch.")
                % {"date": info.birth_date.isoformat()})
        if "sex" in mismatched:
            errors.setdefault("sex", _(
                "The PIN gives the sex %(sex)s. Check both; if the entered sex is right, confirm the mismatch.")
                % {"sex": Sex(info.sex).label})
        return False
    return bool(mismatched)


def _merge(errors: dict, exc: ValidationError) -> None:
    for field, messages in exc.message_dict.items():
        if field not in errors:
            errors[field] = messages


def _raise(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)


class _restoring:
    """On a refused change, put the caller's instance back as it was (the transaction rolls back the rest)."""

    def __init__(self, obj):
        self.obj = obj
        self.values = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}

    def __enter__(self):
        return self.obj

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            for attname, value in self.values.items():
                setattr(self.obj, attname, value)
        return False


# --- search and likely duplicates ----------------------------------------------------------------

_MARKERS = {"ulu": Sex.MALE, "uli": Sex.MALE, "ugli": Sex.MALE, "ogli": Sex.MALE, "kizi": Sex.FEMALE}


def _stem(term: str) -> str:
    """The shortest root of a typed word: Асанов, Асанович, Asan all become "asan"."""
    candidates = [names.name_root(term), names.split_person(term, "", "").family, names.split_person("", "", term).father]
    candidates = [c for c in candidates if c and " " not in c and term.startswith(c)]
    return min(candidates, key=len) if candidates else term


def search(queryset, query: str):
    """Learners matching a typed query in any spelling, either naming form, or a PIN prefix.

    Every word is folded (Cyrillic, Latin, lookalikes, ң ө ү variants) and reduced to its root, so
    "Асанов Бакыт Асанович", "Bakyt Asan uulu" and "бакыт асан" all find the same child; a
    relationship word (уулу/кызы) narrows by sex. Works through the folded ``search_key`` column.
    """
    query = (query or "").strip()
    if not query:
        return queryset
    compact = query.replace(" ", "")
    if compact.isdigit():
        return queryset.filter(pin__startswith=compact)
    sex = None
    for term in names.search_terms(query):
        if term in _MARKERS:
            sex = _MARKERS[term]
            continue
        queryset = queryset.filter(search_key__contains=_stem(term))
    if sex:
        queryset = queryset.filter(sex=sex)
    return queryset


def _same_person(a: names.PersonKey, a_sex: str | None, b: names.PersonKey, b_sex: str | None) -> bool:
    if a_sex and b_sex and a_sex != b_sex:
        return False
    if a.sex_hint and b.sex_hint and a.sex_hint != b.sex_hint:
        return False
    given_a, given_b = a.given.split(), b.given.split()
    if not given_a or not given_b:
        return False
    if names.name_root(given_a[0]) != names.name_root(given_b[0]):
        return False
    if a.roots and b.roots:
        return bool(a.roots & b.roots)
    return True


def likely_duplicates(user, *, last_name="", first_name="", patronymic="", birth_date=None, sex=None, exclude_pk=None):
    """Learners the user may see with the same birth date and a name that folds alike."""
    if not isinstance(birth_date, dt.date) or not first_name:
        return []
    key = names.split_person(last_name, first_name, patronymic)
    qs = Learner.objects.visible_to(user).filter(birth_date=birth_date, merged_into__isnull=True)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return [c for c in qs.order_by("pk")[:200]
            if _same_person(key, sex, names.split_person(c.last_name, c.first_name, c.patronymic), c.sex)]


def _existing_pin(user, pin: str, exclude_pk=None):
    if not pin:
        return
    qs = Learner.objects.filter(pin=pin, merged_into__isnull=True)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    existing = qs.first()
    if existing is not None:
        visible = Learner.objects.visible_to(user).filter(pk=existing.pk).exists()
        raise DuplicatePin(existing if visible else None)


# --- learners ------------------------------------------------------------------------------------


@transaction.atomic
def create_learner(actor, *, pin="", last_name="", first_name="", patronymic="", birth_date=None, sex="", territory=None,
                   address="", languages="", confirm_mismatch=False, confirm_new_despite_duplicates=False,
                   organization=None) -> Learner:
    """Register a child. Refuses a PIN already registered; shows likely duplicates unless confirmed."""
    if not access.can(actor, "write", Rec.LEARNER):
        raise PermissionDenied
    errors: dict = {}
    org = acting_organization(actor, Rec.LEARNER, organization)
    learner = Learner(
        pin=(pin or "").strip(), last_name=names.normalize_display(last_name), first_name=names.normalize_display(first_name),
        patronymic=names.normalize_display(patronymic), birth_date=birth_date, sex=sex or "", territory=territory,
        address=(address or "").strip(), created_by_org=org,
    )
    learner.languages = _check_languages(languages, errors)
    learner.pin_mismatch_confirmed = check_pin(learner.pin, birth_date, sex, confirm_mismatch=confirm_mismatch, errors=errors)
    _check_birth_date(birth_date, errors)
    learner.search_key = names.search_key(learner.full_name)
    try:
        learner.full_clean(exclude=["pin"], validate_constraints=False)
    except ValidationError as exc:
        _merge(errors, exc)
    _raise(errors)
    _existing_pin(actor, learner.pin)
    candidates = likely_duplicates(actor, last_name=learner.last_name, first_name=learner.first_name,
                                   patronymic=learner.patronymic, birth_date=birth_date, sex=sex)
    if candidates and not confirm_new_despite_duplicates:
        raise PossibleDuplicates(candidates)
    learner.save()
    # Stop a record being registered straight out of the user's own reach (another district, say).
    if not Learner.objects.visible_to(actor, "write").filter(pk=learner.pk).exists():
        raise ValidationError({"territory": _(
            "The address is outside the territory you work in and the child is not linked to your organization; "
            "the record would be out of your reach.")})
    reason = ""
    if candidates:
        reason = _("Registered as a new child although %(n)d similar record(s) existed: %(ids)s.") % {
            "n": len(candidates), "ids": ", ".join(str(c.pk) for c in candidates)}
    if learner.pin_mismatch_confirmed:
        reason = (reason + " " + _("The PIN's birth date or sex differs from the entered values; confirmed.")).strip()
    audit.record_create(actor, learner, event="learner.created", reason=reason)
    return learner


@transaction.atomic
def update_learner(actor, learner: Learner, *, confirm_mismatch=False, **fields) -> Learner:
    """Change identity fields (not the PIN: see :func:`change_pin`)."""
    with _restoring(learner):
        require_write(actor, learner)
        _require_active(learner)
        unknown = set(fields) - set(LEARNER_EDITABLE)
        if unknown:
            raise ValidationError({k: _("This field cannot be changed here.") for k in unknown})
        before = audit.snapshot(learner)
        errors: dict = {}
        for name, value in fields.items():
            if name in ("last_name", "first_name", "patronymic"):
                value = names.normalize_display(value)
            if name == "languages":
                value = _check_languages(value, errors)
            setattr(learner, name, value)
        if "birth_date" in fields:
            _check_birth_date(learner.birth_date, errors)
        confirmed = check_pin(learner.pin, learner.birth_date, learner.sex,
                              confirm_mismatch=confirm_mismatch or (learner.pin_mismatch_confirmed and not
                                                                    ({"birth_date", "sex"} & set(fields))), errors=errors)
        learner.pin_mismatch_confirmed = confirmed
        learner.search_key = names.search_key(learner.full_name)
        try:
            learner.full_clean(exclude=["pin"], validate_constraints=False)
        except ValidationError as exc:
            _merge(errors, exc)
        _raise(errors)
        learner.save()
        if not Learner.objects.visible_to(actor, "write").filter(pk=learner.pk).exists():
            raise ValidationError({"territory": _("The change would move the record out of your reach.")})
        audit.record_update(actor, learner, before, event="learner.updated")
        return learner


@transaction.atomic
def record_move(actor, learner: Learner, *, territory, reason: str) -> Learner:
    """The family moved: the child's territory of residence becomes ``territory`` (event ``learner.moved``).

    The street address belonged to the old place and is cleared (the history keeps it); the new one
    is entered when the family is found. This is the consequence of another workflow's step that
    carries the move — an outreach case passed on to the new territory's local self-government — so
    the child leaving the actor's reach is its purpose, and there is no reach check after the change
    (unlike :func:`update_learner`). ``actor`` must be able to change the record before the move;
    ``actor=None`` records the change as the system's, for a step whose actor may not (the reason
    then names the step and who took it).
    """
    if actor is not None:
        require_write(actor, learner)
    learner = Learner.objects.select_for_update().get(pk=learner.pk)
    _require_active(learner)
    if learner.territory_id == territory.pk:
        return learner
    before = audit.snapshot(learner)
    learner.territory = territory
    learner.address = ""
    learner.save(update_fields=["territory", "address"])
    audit.record(actor, AuditEvent.Action.UPDATE, learner, event="learner.moved",
                 changes=audit.diff(before, audit.snapshot(learner)), reason=reason)
    return learner


@transaction.atomic
def change_pin(actor, learner: Learner, *, new_pin: str, reason: str, confirm_mismatch=False) -> PinChange:
    """Give a learner a PIN, or change it (a legal procedure): the old one stays in the history."""
    require_write(actor, learner)
    _require_active(learner)
    errors: dict = {}
    new_pin = (new_pin or "").strip()
    if not (reason or "").strip():
        errors["reason"] = _("Say why the PIN changes (for example, the civil registry's decision).")
    if not new_pin:
        errors["pin"] = _("Enter the new PIN.")
    elif new_pin == learner.pin:
        errors["pin"] = _("This is the learner's current PIN.")
    else:
        mismatch_errors: dict = {}
        confirmed = check_pin(new_pin, learner.birth_date, learner.sex, confirm_mismatch=confirm_mismatch, errors=mismatch_errors)
        if "pin" in mismatch_errors:
            errors["pin"] = mismatch_errors["pin"]
        elif mismatch_errors:
            errors["pin"] = " ".join(str(m) for m in mismatch_errors.values())
    _raise(errors)
    _existing_pin(actor, new_pin, exclude_pk=learner.pk)
    before = audit.snapshot(learner)
    change = PinChange(learner=learner, old_pin=learner.pin, new_pin=new_pin, changed_by=actor, reason=reason.strip())
    change.full_clean()
    change.save()
    learner.pin = new_pin
    learner.pin_mismatch_confirmed = confirmed
    learner.save()
    audit.record_update(actor, learner, before, event="learner.pin_changed", reason=reason.strip())
    return change


@transaction.atomic
def archive_learner(actor, learner: Learner, *, reason: str) -> Learner:
    """Archive a record (it is never deleted): it leaves lists but keeps its history."""
    require_write(actor, learner)
    if learner.archived_at is not None:
        raise ValidationError(_("This learner's record is archived already."))
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the record is archived.")})
    learner.archived_at = timezone.now()
    learner.archive_reason = reason.strip()
    learner.save(update_fields=["archived_at", "archive_reason"])
    audit.record_transition(actor, learner, "active", "archived", event="learner.archived", reason=reason.strip())
    return learner


@transaction.atomic
def restore_learner(actor, learner: Learner, *, reason: str) -> Learner:
    require_write(actor, learner)
    if learner.archived_at is None:
        raise ValidationError(_("This learner's record is not archived."))
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the record is restored.")})
    learner.archived_at = None
    learner.archive_reason = ""
    learner.save(update_fields=["archived_at", "archive_reason"])
    audit.record_transition(actor, learner, "archived", "active", event="learner.restored", reason=reason.strip())
    return learner


def learner_history(user, learner: Learner, limit: int = 100) -> list[AuditEvent]:
    """The audit trail of a child, keeping only events about records the user may see."""
    events = list(AuditEvent.objects.filter(learner_id=learner.pk).order_by("-id")[: limit * 2])
    by_type: dict[str, set[str]] = {}
    for e in events:
        by_type.setdefault(e.object_type, set()).add(e.object_id)
    visible: dict[str, set[str]] = {}
    for label, ids in by_type.items():
        model = next((m for m in access.REGISTRY if audit.object_type(m) == label), None)
        if model is None:
            visible[label] = set()
            continue
        pks = [i for i in ids if i.isdigit()]
        visible[label] = {str(pk) for pk in access.restrict(user, model._default_manager.filter(pk__in=pks)).values_list("pk", flat=True)}
    return [e for e in events if e.object_id in visible.get(e.object_type, ())][:limit]


# --- guardians -----------------------------------------------------------------------------------


def _guardian_from(fields: dict, errors: dict, guardian: Guardian | None = None) -> Guardian:
    guardian = guardian or Guardian()
    for name in GUARDIAN_FIELDS:
        if name in fields:
            value = fields[name]
            setattr(guardian, name, names.normalize_display(value) if name in ("last_name", "first_name", "patronymic")
                    else (value or "").strip())
    if guardian.pin:
        try:
            parse_pin(guardian.pin)
        except PinError as exc:
            errors["pin"] = exc.message
    guardian.search_key = names.search_key(guardian.full_name)
    try:
        guardian.full_clean(exclude=["user"])
    except ValidationError as exc:
        _merge(errors, exc)
    return guardian


def _link(actor, learner, guardian, *, relation, is_legal_representative, starts_on, errors) -> GuardianLink:
    if guardian.pk and GuardianLink.objects.filter(learner=learner, guardian=guardian, ends_on__isnull=True).exists():
        errors["guardian"] = _("This guardian is already linked to the learner.")
    link = GuardianLink(learner=learner, guardian=guardian, relation=relation,
                        is_legal_representative=is_legal_representative, starts_on=starts_on or timezone.localdate())
    try:
        link.full_clean(exclude=["guardian"] if guardian.pk is None else None, validate_constraints=False)
    except ValidationError as exc:
        _merge(errors, exc)
    return link


@transaction.atomic
def add_guardian(actor, learner: Learner, *, relation: str, is_legal_representative: bool = True, starts_on=None,
                 **guardian_fields) -> GuardianLink:
    """A new guardian (parent, legal guardian, other) with contacts, linked to the learner."""
    require(actor, "write", Rec.GUARDIAN, learner)
    _require_active(learner)
    errors: dict = {}
    guardian = _guardian_from(guardian_fields, errors)
    link = _link(actor, learner, guardian, relation=relation, is_legal_representative=is_legal_representative,
                 starts_on=starts_on, errors=errors)
    _raise(errors)
    guardian.save()
    link.guardian = guardian
    link.save()
    audit.record(actor, AuditEvent.Action.CREATE, guardian, event="guardian.created",
                 changes={"after": audit.snapshot(guardian)}, learner_id=learner.pk)
    audit.record_create(actor, link, event="guardian.linked")
    return link


@transaction.atomic
def link_guardian(actor, learner: Learner, guardian: Guardian, *, relation: str, is_legal_representative: bool = True,
                  starts_on=None) -> GuardianLink:
    """Link a guardian already registered (e.g. a sibling's parent) to this learner."""
    require(actor, "write", Rec.GUARDIAN, learner)
    _require_active(learner)
    if not Guardian.objects.visible_to(actor).filter(pk=guardian.pk).exists():
        raise ValidationError({"guardian": _("Choose a guardian you can see.")})
    errors: dict = {}
    link = _link(actor, learner, guardian, relation=relation, is_legal_representative=is_legal_representative,
                 starts_on=starts_on, errors=errors)
    _raise(errors)
    link.save()
    audit.record_create(actor, link, event="guardian.linked")
    return link


@transaction.atomic
def update_guardian(actor, guardian: Guardian, **fields) -> Guardian:
    with _restoring(guardian):
        require_write(actor, guardian)
        unknown = set(fields) - set(GUARDIAN_FIELDS)
        if unknown:
            raise ValidationError({k: _("This field cannot be changed here.") for k in unknown})
        before = audit.snapshot(guardian)
        errors: dict = {}
        _guardian_from(fields, errors, guardian)
        _raise(errors)
        guardian.save()
        if guardian.user_id and guardian.user.email != guardian.email and guardian.email:
            guardian.user.email = guardian.email
            guardian.user.save(update_fields=["email"])
        learner_id = guardian.links.order_by("-starts_on").values_list("learner_id", flat=True).first()
        changes = audit.diff(before, audit.snapshot(guardian))
        if changes:
            audit.record(actor, AuditEvent.Action.UPDATE, guardian, event="guardian.updated", changes=changes, learner_id=learner_id)
        return guardian


@transaction.atomic
def end_guardian_link(actor, link: GuardianLink, *, reason: str, ends_on=None) -> GuardianLink:
    """End a guardian's link to a learner (custody changed, a mistake…); the link stays in the history."""
    require_write(actor, link)
    errors = {}
    if link.ends_on is not None:
        raise ValidationError(_("This link has ended already."))
    if not (reason or "").strip():
        errors["reason"] = _("Say why the link ends.")
    ends_on = ends_on or timezone.localdate()
    if ends_on < link.starts_on:
        errors["ends_on"] = _("The end date is before the start date.")
    _raise(errors)
    before = audit.snapshot(link)
    link.ends_on = ends_on
    link.end_reason = reason.strip()
    link.save(update_fields=["ends_on", "end_reason"])
    audit.record_update(actor, link, before, event="guardian.unlinked", reason=reason.strip())
    return link


def _send_password_setup(user: User, request=None) -> None:
    """A password-reset e-mail to this one account (the guardian sets their own password)."""
    from django.contrib.auth.forms import PasswordResetForm
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    if request is not None:
        domain, protocol = request.get_host(), ("https" if request.is_secure() else "http")
    else:
        hosts = [h for h in settings.ALLOWED_HOSTS if h and not h.startswith(".") and h != "*"]
        domain, protocol = (hosts[0] if hosts else "localhost"), ("https" if settings.PRODUCTION else "http")
    context = {
        "email": user.email, "domain": domain, "site_name": str(settings.BIRGE_SERVICE_NAME),
        "uid": urlsafe_base64_encode(force_bytes(user.pk)), "user": user,
        "token": default_token_generator.make_token(user), "protocol": protocol,
    }
    PasswordResetForm().send_mail("registration/password_reset_subject.txt", "registration/password_reset_email.html",
                                  context, None, user.email)


@transaction.atomic
def give_parent_account(actor, guardian: Guardian, *, email: str = "", username: str = "", request=None) -> User:
    """A user account with the parent role for a guardian; the password is set through a reset e-mail."""
    require_write(actor, guardian)
    if guardian.user_id:
        raise ValidationError(_("This guardian has a user account already."))
    email = (email or guardian.email or "").strip()
    username = (username or email).strip().lower()
    errors = {}
    if not email:
        errors["email"] = _("An e-mail address is needed to send the link that sets the password.")
    if username and User.objects.filter(username__iexact=username).exists():
        errors["username"] = _("This username is taken; choose another.")
    _raise(errors)
    user = User(username=username, full_name=guardian.full_name, email=email, preferred_language=guardian.preferred_language)
    user.set_password(secrets.token_urlsafe(32))  # usable but unknown: the guardian chooses their own
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from None
    user.save()
    membership = Membership(user=user, role=Role.PARENT, organization=None, starts_on=timezone.localdate())
    membership.full_clean()
    membership.save()
    before = audit.snapshot(guardian)
    guardian.user = user
    if not guardian.email:
        guardian.email = email
    guardian.save()
    learner_id = guardian.links.values_list("learner_id", flat=True).first()
    audit.record(actor, AuditEvent.Action.CREATE, user, event="user.created", changes={"after": audit.snapshot(user)},
                 learner_id=learner_id, reason=_("Parent account for a guardian"))
    audit.record(actor, AuditEvent.Action.CREATE, membership, event="membership.created",
                 changes={"after": audit.snapshot(membership)})
    audit.record(actor, AuditEvent.Action.UPDATE, guardian, event="guardian.account_given",
                 changes=audit.diff(before, audit.snapshot(guardian)), learner_id=learner_id)
    transaction.on_commit(lambda: _send_password_setup(user, request))
    return user


def guardian_of(user, learner) -> Guardian | None:
    """The guardian record of a parent user when actively linked to this learner."""
    if not getattr(user, "is_authenticated", False):
        return None
    today = timezone.localdate()
    return Guardian.objects.filter(
        user=user, links__learner=learner, links__starts_on__lte=today,
    ).filter(Q(links__ends_on__isnull=True) | Q(links__ends_on__gt=today)).first()


# --- consent -------------------------------------------------------------------------------------


def has_consent(learner, purpose: str, recipient=None, on=None) -> bool:
    """Is there an active (not withdrawn, not expired) consent for this purpose (and recipient)?"""
    qs = active_consents(purpose, on).filter(learner_id=getattr(learner, "pk", learner))
    if recipient is not None:
        qs = qs.filter(recipient_id=getattr(recipient, "pk", recipient))
    return qs.exists()


def _check_document(document, errors: dict) -> None:
    if not document:
        return
    name = (getattr(document, "name", "") or "").lower()
    if not any(name.endswith(ext) for ext in DOCUMENT_TYPES):
        errors["document"] = _("Upload a PDF, JPEG or PNG scan.")
    elif getattr(document, "size", 0) > DOCUMENT_MAX_BYTES:
        errors["document"] = _("The scan is larger than 10 MB.")


@transaction.atomic
def record_consent(actor, learner: Learner, *, purpose: str, method: str, scope: str = "", recipient=None,
                   given_by: Guardian | None = None, given_by_learner: bool = False, given_at=None, document=None,
                   valid_until=None) -> Consent:
    """Record a consent: on paper (optionally with the scan), or given in the system by the guardian themselves."""
    require(actor, "write", Rec.CONSENT, learner)
    _require_active(learner)
    errors: dict = {}
    own = guardian_of(actor, learner)
    if given_by is None and not given_by_learner and own is not None:
        given_by = own
    if method == Consent.Method.IN_SYSTEM and not (given_by is not None and own is not None and given_by.pk == own.pk):
        errors["method"] = _("Only the guardian themselves gives a consent in the system; record a signed paper otherwise.")
    if given_by is not None:
        linked = GuardianLink.objects.filter(learner=learner, guardian=given_by, ends_on__isnull=True).first()
        if linked is None:
            errors["given_by"] = _("The consent is given by one of the learner's current guardians.")
        elif not linked.is_legal_representative:
            errors["given_by"] = _("Only a legal representative gives consent.")
    given_at = given_at or timezone.now()
    if isinstance(given_at, dt.date) and not isinstance(given_at, dt.datetime):
        given_at = timezone.make_aware(dt.datetime.combine(given_at, dt.time(12)))
    if given_by_learner:
        if given_by is not None:
            errors["given_by"] = _("Choose either a guardian or the learner, not both.")
        elif learner.age_on(timezone.localtime(given_at).date()) < 18:
            errors["given_by_learner"] = _("A learner gives consent themselves only from 18 years.")
    if method == Consent.Method.IN_SYSTEM and document:
        errors["document"] = _("A consent given in the system has no scan.")
    _check_document(document, errors)
    if given_at > timezone.now() + dt.timedelta(minutes=5):
        errors["given_at"] = _("The consent cannot be given in the future.")
    if valid_until and valid_until < given_at.date():
        errors["valid_until"] = _("The consent would end before it was given.")
    consent = Consent(learner=learner, purpose=purpose, scope=(scope or "").strip(), recipient=recipient, given_by=given_by,
                      given_by_learner=given_by_learner, given_at=given_at, method=method, valid_until=valid_until,
                      recorded_by=actor if getattr(actor, "pk", None) else None)
    if document:
        consent.document = document
    try:
        consent.full_clean()
    except ValidationError as exc:
        _merge(errors, exc)
    _raise(errors)
    consent.save()
    audit.record(actor, AuditEvent.Action.CREATE, consent, event="consent.given", changes={"after": audit.snapshot(consent)})
    return consent


@transaction.atomic
def withdraw_consent(actor, consent: Consent, *, reason: str) -> Consent:
    require_write(actor, consent)
    if consent.withdrawn_at is not None:
        raise ValidationError(_("This consent has been withdrawn already."))
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the consent is withdrawn.")})
    consent.withdrawn_at = timezone.now()
    consent.withdrawal_reason = reason.strip()
    consent.save(update_fields=["withdrawn_at", "withdrawal_reason"])
    audit.record_transition(actor, consent, "active", "withdrawn", event="consent.withdrawn", reason=reason.strip())
    return consent


# --- disability status and diagnosis ----------------------------------------------------------------


@transaction.atomic
def record_disability(actor, learner: Learner, *, category: str, starts_on, ends_on=None, indefinite: bool = False,
                      certifying_body=None, certificate_number: str = "", reexamination_on=None,
                      rehabilitation_programme: str = "") -> DisabilityStatus:
    """A status certified by the MSEK: category, certificate, period or indefinite, re-examination, IPR."""
    require(actor, "write", Rec.DISABILITY, learner)
    _require_active(learner)
    errors: dict = {}
    if certifying_body is not None and certifying_body.kind != OrgKind.SOCIAL_PROTECTION:
        errors["certifying_body"] = _("The certifying body is a medico-social commission (social protection office).")
    if reexamination_on and starts_on and reexamination_on < starts_on:
        errors["reexamination_on"] = _("The re-examination date is before the start date.")
    if starts_on and starts_on < learner.birth_date:
        errors["starts_on"] = _("The status starts before the learner was born.")
    if starts_on and starts_on > timezone.localdate():
        errors["starts_on"] = _("The status cannot start in the future.")
    status = DisabilityStatus(learner=learner, category=category, certifying_body=certifying_body,
                              certificate_number=(certificate_number or "").strip(), starts_on=starts_on, ends_on=ends_on,
                              indefinite=bool(indefinite), reexamination_on=reexamination_on,
                              rehabilitation_programme=(rehabilitation_programme or "").strip())
    try:
        status.full_clean()
    except ValidationError as exc:
        _merge(errors, exc)
    _raise(errors)
    status.save()
    audit.record_create(actor, status, event="disability.recorded")
    return status


@transaction.atomic
def close_disability(actor, status: DisabilityStatus, *, reason: str) -> DisabilityStatus:
    require_write(actor, status)
    if status.closed_at is not None:
        raise ValidationError(_("This status is closed already."))
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the status is closed.")})
    status.closed_at = timezone.now()
    status.close_reason = reason.strip()
    status.save(update_fields=["closed_at", "close_reason"])
    audit.record_transition(actor, status, "open", "closed", event="disability.closed", reason=reason.strip())
    return status


def opened(actor, records) -> None:
    """A sensitive record (disability, diagnosis) was shown: one read event each."""
    for record in records:
        audit.record_read(actor, record)


@transaction.atomic
def record_diagnosis(actor, learner: Learner, *, code: str, note: str = "", recorded_on=None) -> Diagnosis:
    """An optional ICD-10 code (health and PMPK roles only)."""
    require(actor, "write", Rec.DIAGNOSIS, learner)
    _require_active(learner)
    code = (code or "").strip().upper()
    errors = {}
    if not ICD10.match(code):
        errors["code"] = _("An ICD-10 code is a letter, two digits and an optional part after a dot, e.g. F84.0.")
    recorded_on = recorded_on or timezone.localdate()
    if recorded_on > timezone.localdate():
        errors["recorded_on"] = _("The date is in the future.")
    diagnosis = Diagnosis(learner=learner, code=code, note=(note or "").strip(), recorded_on=recorded_on,
                          recorded_by=actor if getattr(actor, "pk", None) else None)
    try:
        diagnosis.full_clean()
    except ValidationError as exc:
        _merge(errors, exc)
    _raise(errors)
    diagnosis.save()
    audit.record_create(actor, diagnosis, event="diagnosis.recorded")
    return diagnosis


@transaction.atomic
def withdraw_diagnosis(actor, diagnosis: Diagnosis, *, reason: str) -> Diagnosis:
    require_write(actor, diagnosis)
    if diagnosis.withdrawn_at is not None:
        raise ValidationError(_("This diagnosis has been withdrawn already."))
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the diagnosis is withdrawn.")})
    diagnosis.withdrawn_at = timezone.now()
    diagnosis.save(update_fields=["withdrawn_at"])
    audit.record_transition(actor, diagnosis, "recorded", "withdrawn", event="diagnosis.withdrawn", reason=reason.strip())
    return diagnosis


# --- enrolments ------------------------------------------------------------------------------------


def _check_enrolment(enrolment: Enrolment, errors: dict, *, exclude_pk=None) -> None:
    org = enrolment.organization
    if org is not None:
        if org.kind not in EDUCATION_KINDS:
            errors["organization"] = _("Learners are enrolled at an education organization.")
        elif enrolment.level and org.kind not in LEVEL_ORG_KINDS.get(enrolment.level, ()):
            errors["organization"] = _("A %(kind)s does not teach at the level %(level)s.") % {
                "kind": org.get_kind_display(), "level": Level(enrolment.level).label}
        elif enrolment.form in FORM_ORG_KINDS and org.kind not in FORM_ORG_KINDS[enrolment.form]:
            errors["form"] = _("This form of education is given by a special or boarding school.")
        elif not org.is_active:
            errors["organization"] = _("This organization is closed.")
    if enrolment.level == Level.SCHOOL and enrolment.grade is not None and not 1 <= enrolment.grade <= 12:
        errors["grade"] = _("The grade is 1 to 12.")
    if enrolment.starts_on and enrolment.learner_id and enrolment.starts_on < enrolment.learner.birth_date:
        errors["starts_on"] = _("The enrolment starts before the learner was born.")
    if enrolment.starts_on and enrolment.starts_on > timezone.localdate() + dt.timedelta(days=366):
        errors["starts_on"] = _("The enrolment starts more than a year from now.")
    if enrolment.language and enrolment.language not in LANGUAGES_OF_INSTRUCTION:
        errors["language"] = _("Unknown language code; use %(known)s.") % {"known": ", ".join(LANGUAGES_OF_INSTRUCTION)}
    if enrolment.status == Enrolment.Status.ACTIVE and enrolment.level and enrolment.learner_id:
        other = Enrolment.objects.filter(learner_id=enrolment.learner_id, level=enrolment.level, status=Enrolment.Status.ACTIVE)
        if exclude_pk:
            other = other.exclude(pk=exclude_pk)
        other = other.select_related("organization").first()
        if other is not None:
            errors["level"] = _("The learner already has an active enrolment at this level (%(org)s, from %(date)s). "
                                "Transfer, complete or end that one first.") % {
                "org": other.organization, "date": other.starts_on.isoformat()}
    try:
        enrolment.full_clean(validate_constraints=False)
    except ValidationError as exc:
        _merge(errors, exc)


@transaction.atomic
def enrol(actor, learner: Learner, *, organization, level: str, starts_on, grade=None, class_name: str = "",
          form: str = FormOfEducation.MAINSTREAM, programme: str = Programme.GENERAL, with_tutor: bool = False,
          language: str = "") -> Enrolment:
    """Open an enrolment (one active per level)."""
    require(actor, "write", Rec.ENROLMENT, learner)
    _require_active(learner)
    enrolment = Enrolment(learner=learner, organization=organization, level=level, grade=grade, class_name=(class_name or "").strip(),
                          form=form or FormOfEducation.MAINSTREAM, programme=programme or Programme.GENERAL,
                          with_tutor=bool(with_tutor), language=(language or "").strip(), starts_on=starts_on)
    errors: dict = {}
    _check_enrolment(enrolment, errors)
    _raise(errors)
    enrolment.save()
    audit.record_create(actor, enrolment, event="enrolment.opened")
    return enrolment


@transaction.atomic
def update_enrolment(actor, enrolment: Enrolment, **fields) -> Enrolment:
    """Change the details of an active enrolment (grade, class, form, programme, tutor, language)."""
    with _restoring(enrolment):
        require_write(actor, enrolment)
        if enrolment.status != Enrolment.Status.ACTIVE:
            raise ValidationError(_("Only an active enrolment can be changed."))
        unknown = set(fields) - set(ENROLMENT_DETAILS)
        if unknown:
            raise ValidationError({k: _("This field cannot be changed here.") for k in unknown})
        before = audit.snapshot(enrolment)
        for name, value in fields.items():
            setattr(enrolment, name, value)
        errors: dict = {}
        _check_enrolment(enrolment, errors, exclude_pk=enrolment.pk)
        _raise(errors)
        enrolment.save()
        audit.record_update(actor, enrolment, before, event="enrolment.updated")
        return enrolment


def _end(actor, enrolment: Enrolment, status: str, ends_on, reason: str, event: str) -> Enrolment:
    with _restoring(enrolment):
        require_write(actor, enrolment)
        if enrolment.status != Enrolment.Status.ACTIVE:
            raise ValidationError(_("This enrolment has ended already."))
        ends_on = ends_on or timezone.localdate()
        errors = {}
        if ends_on < enrolment.starts_on:
            errors["ends_on"] = _("The end date is before the start date.")
        if ends_on > timezone.localdate() + dt.timedelta(days=366):
            errors["ends_on"] = _("The end date is more than a year from now.")
        _raise(errors)
        old = enrolment.status
        enrolment.status, enrolment.ends_on, enrolment.end_reason = status, ends_on, (reason or "").strip()
        try:
            enrolment.full_clean(validate_constraints=False)
        except ValidationError as exc:
            raise ValidationError({("reason" if k == "end_reason" else k): v for k, v in exc.message_dict.items()}) from None
        enrolment.save(update_fields=["status", "ends_on", "end_reason"])
        audit.record_transition(actor, enrolment, old, status, event=event, reason=enrolment.end_reason)
        return enrolment


@transaction.atomic
def complete_enrolment(actor, enrolment: Enrolment, *, ends_on=None, reason: str = "") -> Enrolment:
    return _end(actor, enrolment, Enrolment.Status.COMPLETED, ends_on, reason, "enrolment.completed")


@transaction.atomic
def drop_out(actor, enrolment: Enrolment, *, reason: str, ends_on=None) -> Enrolment:
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Give the reason the learner dropped out.")})
    return _end(actor, enrolment, Enrolment.Status.DROPPED_OUT, ends_on, reason, "enrolment.dropped_out")


@transaction.atomic
def transfer(actor, enrolment: Enrolment, *, to_organization, starts_on=None, reason: str = "", **details) -> Enrolment:
    """End an active enrolment as transferred and open the next one, in one transaction (history kept)."""
    require_write(actor, enrolment)
    if enrolment.status != Enrolment.Status.ACTIVE:
        raise ValidationError(_("Only an active enrolment can be transferred."))
    starts_on = starts_on or timezone.localdate()
    unknown = set(details) - set(ENROLMENT_DETAILS) - {"level"}
    if unknown:
        raise ValidationError({k: _("This field cannot be changed here.") for k in unknown})
    errors: dict = {}
    if to_organization is None:
        errors["to_organization"] = _("Choose the receiving organization.")
    elif to_organization.pk == enrolment.organization_id and details.get("level", enrolment.level) == enrolment.level:
        errors["to_organization"] = _("A transfer goes to another organization; change the details of the enrolment instead.")
    if starts_on < enrolment.starts_on:
        errors["starts_on"] = _("The transfer date is before the current enrolment started.")
    _raise(errors)
    _end(actor, enrolment, Enrolment.Status.TRANSFERRED, starts_on, reason, "enrolment.transferred")
    fields = {name: getattr(enrolment, name) for name in ENROLMENT_DETAILS}
    fields["level"] = enrolment.level
    fields.update({k: v for k, v in details.items() if v is not None})
    if fields["level"] != Level.SCHOOL:
        fields["grade"] = None
    new = Enrolment(learner=enrolment.learner, organization=to_organization, starts_on=starts_on, **fields)
    _check_enrolment(new, errors)
    if "organization" in errors:
        errors["to_organization"] = errors.pop("organization")
    _raise(errors)
    new.save()
    audit.record_create(actor, new, event="enrolment.opened", reason=_("Transfer from %(org)s") % {"org": enrolment.organization})
    return new


# --- specialists and tutors ------------------------------------------------------------------------

KIND_ROLES = {Assignment.Kind.SPECIALIST: SPECIALIST_ROLES, Assignment.Kind.TUTOR: frozenset({Role.TUTOR})}


def assignable_staff(actor, kind: str | None = None):
    """Staff the user may assign: specialists and tutors of the organizations where the user works."""
    org_ids = access.grant_organizations(actor)
    roles = KIND_ROLES[kind] if kind else (SPECIALIST_ROLES | {Role.TUTOR})
    today = timezone.localdate()
    return User.objects.filter(
        is_active=True, memberships__organization_id__in=org_ids, memberships__role__in=roles,
        memberships__starts_on__lte=today,
    ).filter(Q(memberships__ends_on__isnull=True) | Q(memberships__ends_on__gt=today)).distinct().order_by("full_name", "username")


@transaction.atomic
def assign(actor, learner: Learner, *, user: User, kind: str, organization=None, starts_on=None) -> Assignment:
    """Assign a specialist or tutor to a learner: this is what opens the child's records to them."""
    require(actor, "write", Rec.LEARNER, learner)
    _require_active(learner)
    errors: dict = {}
    roles = KIND_ROLES.get(kind)
    if roles is None:
        raise ValidationError({"kind": _("Choose specialist or tutor.")})
    memberships = [m for m in user.active_memberships() if m.role in roles and m.organization_id]
    if organization is not None:
        memberships = [m for m in memberships if m.organization_id == organization.pk]
    own_orgs = set(access.grant_organizations(actor))
    memberships = [m for m in memberships if m.organization_id in own_orgs]
    if not memberships:
        errors["user"] = (_("Choose a specialist of your organization.") if kind == Assignment.Kind.SPECIALIST
                          else _("Choose a tutor or assistant of your organization."))
    starts_on = starts_on or timezone.localdate()
    if Assignment.objects.filter(learner=learner, user=user).filter(Q(ends_on__isnull=True) | Q(ends_on__gt=starts_on)).exists():
        errors["user"] = _("This person is already assigned to the learner.")
    _raise(errors)
    assignment = Assignment(learner=learner, user=user, organization=memberships[0].organization, kind=kind, starts_on=starts_on)
    assignment.full_clean()
    assignment.save()
    audit.record_create(actor, assignment, event="assignment.created")
    return assignment


@transaction.atomic
def end_assignment(actor, assignment: Assignment, *, reason: str, ends_on=None) -> Assignment:
    require_write(actor, assignment)
    if assignment.ends_on is not None and assignment.ends_on <= timezone.localdate():
        raise ValidationError(_("This assignment has ended already."))
    errors = {}
    if not (reason or "").strip():
        errors["reason"] = _("Say why the assignment ends.")
    ends_on = ends_on or timezone.localdate()
    if ends_on < assignment.starts_on:
        errors["ends_on"] = _("The end date is before the start date.")
    _raise(errors)
    before = audit.snapshot(assignment)
    assignment.ends_on, assignment.end_reason = ends_on, reason.strip()
    assignment.save(update_fields=["ends_on", "end_reason"])
    audit.record_update(actor, assignment, before, event="assignment.ended", reason=reason.strip())
    return assignment


def territory_by_code(code: str):
    return Territory.objects.current().filter(code=(code or "").strip()).first()
