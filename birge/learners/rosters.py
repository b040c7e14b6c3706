"""Roster import: learners and their enrolments from a school's list or a national register.

Columns (with Russian and Kyrgyz aliases): pin, last_name, first_name,
patronymic, birth_date, sex, territory (SOATE code), organization (code),
level, grade, class_name, form, programme, starts_on. Every row is validated
(unknown codes, bad PIN, impossible dates, a second active enrolment at a
level…) and reported with its line number; nothing is written while any row is
bad unless ``valid_only``. Existing learners are matched by PIN (without a PIN:
by the folded name, birth date and sex when exactly one learner you can see
matches). Rows go through the same services as the pages, with their audit
events.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from birge.core import access, audit, names
from birge.core.access import Rec
from birge.core.models import AuditEvent, Organization, Territory
from birge.core.pin import PinError, normalize_sex, parse_pin, pin_mismatches
from birge.core.roles import EDUCATION_KINDS
from birge.core.tabular import ImportFileError, ImportReport, run_import

from . import services
from .models import Enrolment, FormOfEducation, Learner, Level, Programme, Sex

ALIASES = {
    "pin": ["пин", "инн", "персональный номер", "жеке номер"],
    "last_name": ["surname", "фамилия", "фамилиясы"],
    "first_name": ["given_name", "name", "имя", "аты"],
    "patronymic": ["отчество", "атасынын аты"],
    "birth_date": ["date_of_birth", "дата рождения", "туулган күнү"],
    "sex": ["gender", "пол", "жынысы"],
    "territory": ["soate", "соате", "код соате", "territory_code", "address_code"],
    "organization": ["organization_code", "school", "код организации", "уюмдун коду"],
    "level": ["уровень", "деңгээл"],
    "grade": ["класс (номер)", "grade_number"],
    "class_name": ["class", "group", "класс", "группа", "тайпа"],
    "form": ["form_of_education", "форма обучения", "окутуу формасы"],
    "programme": ["program", "программа", "программасы"],
    "starts_on": ["start_date", "enrolled_on", "дата зачисления", "кабыл алынган күнү"],
}
REQUIRED = ["first_name", "birth_date", "sex", "territory", "organization", "level"]
SEX_WORDS = {"1": Sex.FEMALE, "2": Sex.MALE, "жен": Sex.FEMALE, "муж": Sex.MALE, "кыз": Sex.FEMALE, "эркек": Sex.MALE,
             "ayal": Sex.FEMALE, "аял": Sex.FEMALE}


@dataclass
class RosterStats:
    created: int = 0
    matched: int = 0
    enrolled: int = 0
    unchanged: int = 0
    ids: list = field(default_factory=list)


def parse_date(value: str) -> dt.date:
    """ISO (2015-09-01) or the usual local form (01.09.2015); raises ValueError."""
    value = (value or "").strip()
    if not value:
        raise ValueError("empty")
    if "." in value or "/" in value:
        parts = value.replace("/", ".").split(".")
        if len(parts) != 3 or len(parts[2]) != 4:
            raise ValueError(value)
        return dt.date(int(parts[2]), int(parts[1]), int(parts[0]))
    return dt.date.fromisoformat(value[:10])


def _choice(value: str, choices) -> str | None:
    v = (value or "").strip().lower()
    for c in choices:
        if v in (c.value, str(c.label).lower()):
            return c.value
    return None


def import_roster(actor, name: str, data: bytes, *, valid_only: bool = False) -> tuple[ImportReport, RosterStats]:
    """Validate and import a roster file as ``actor`` (under the access policy)."""
    if not access.can(actor, "write", Rec.ENROLMENT):
        raise ImportFileError(_("Your role does not allow enrolling learners."))
    territories = {t.code: t for t in Territory.objects.current()}
    organizations: dict[str, Organization | None] = {}
    writable_orgs = set(services_orgs(actor))
    seen_pins: set[str] = set()
    seen_keys: set[tuple] = set()
    stats = RosterStats()
    today = timezone.localdate()

    def organization(code):
        if code not in organizations:
            organizations[code] = Organization.objects.filter(code=code).first()
        return organizations[code]

    def validate(row):
        errors: dict = {}
        out: dict = {}
        # identity
        out["last_name"] = names.normalize_display(row.get("last_name", ""))
        out["first_name"] = names.normalize_display(row.get("first_name", ""))
        out["patronymic"] = names.normalize_display(row.get("patronymic", ""))
        if not out["first_name"]:
            errors["first_name"] = _("The given name is required.")
        try:
            out["birth_date"] = parse_date(row.get("birth_date", ""))
        except (ValueError, TypeError):
            errors["birth_date"] = _("Not a real date: %(value)s (use 2015-09-01 or 01.09.2015).") % {
                "value": row.get("birth_date") or "—"}
            out["birth_date"] = None
        else:
            services._check_birth_date(out["birth_date"], errors)
        raw_sex = (row.get("sex") or "").strip()
        out["sex"] = normalize_sex(raw_sex) or SEX_WORDS.get(raw_sex.casefold())
        if out["sex"] is None:
            errors["sex"] = _("Unknown sex %(value)s; use female/male (F/M, Ж/М).") % {"value": raw_sex or "—"}
        pin = (row.get("pin") or "").strip()
        out["pin"] = pin
        if pin:
            try:
                info = parse_pin(pin)
            except PinError as exc:
                errors["pin"] = exc.message
            else:
                bad = pin_mismatches(info, out["birth_date"], out["sex"])
                if bad:
                    errors["pin"] = _("The PIN disagrees with the %(fields)s of the row; check the row (an import "
                                      "cannot confirm a mismatch).") % {"fields": ", ".join(
                                          str(Learner._meta.get_field(f).verbose_name) for f in bad)}
            if pin in seen_pins:
                errors["pin"] = _("The same PIN is on an earlier line of the file.")
        territory = territories.get((row.get("territory") or "").strip())
        if territory is None:
            errors["territory"] = _("Unknown SOATE code %(code)s.") % {"code": row.get("territory") or "—"}
        out["territory"] = territory
        # enrolment
        code = (row.get("organization") or "").strip()
        org = organization(code) if code else None
        if org is None:
            errors["organization"] = _("Unknown organization code %(code)s.") % {"code": code or "—"}
        elif org.kind not in EDUCATION_KINDS:
            errors["organization"] = _("%(org)s is not an education organization.") % {"org": org}
        elif org.pk not in writable_orgs:
            errors["organization"] = _("You cannot enrol learners at %(org)s.") % {"org": org}
        out["organization"] = org
        level = _choice(row.get("level", ""), Level)
        if level is None:
            errors["level"] = _("Unknown level %(value)s; use one of: %(codes)s.") % {
                "value": row.get("level") or "—", "codes": ", ".join(lv.value for lv in Level)}
        elif org is not None and "organization" not in errors and org.kind not in services.LEVEL_ORG_KINDS[level]:
            errors["level"] = _("A %(kind)s does not teach at the level %(level)s.") % {
                "kind": org.get_kind_display(), "level": Level(level).label}
        out["level"] = level
        grade = (row.get("grade") or "").strip()
        out["grade"] = None
        if grade:
            try:
                out["grade"] = int(float(grade))
            except ValueError:
                errors["grade"] = _("The grade is a number from 1 to 12.")
            else:
                if level and level != Level.SCHOOL:
                    errors["grade"] = _("Only school enrolments have a grade.")
                elif not 1 <= out["grade"] <= 12:
                    errors["grade"] = _("The grade is a number from 1 to 12.")
        out["class_name"] = (row.get("class_name") or "").strip()[:40]
        form = _choice(row.get("form", ""), FormOfEducation) if row.get("form") else FormOfEducation.MAINSTREAM
        if form is None:
            errors["form"] = _("Unknown form of education %(value)s; use one of: %(codes)s.") % {
                "value": row.get("form"), "codes": ", ".join(f.value for f in FormOfEducation)}
        elif org is not None and form in services.FORM_ORG_KINDS and org.kind not in services.FORM_ORG_KINDS[form]:
            errors["form"] = _("This form of education is given by a special or boarding school.")
        out["form"] = form
        programme = _choice(row.get("programme", ""), Programme) if row.get("programme") else Programme.GENERAL
        if programme is None:
            errors["programme"] = _("Unknown programme %(value)s; use one of: %(codes)s.") % {
                "value": row.get("programme"), "codes": ", ".join(p.value for p in Programme)}
        out["programme"] = programme
        if (row.get("starts_on") or "").strip():
            try:
                out["starts_on"] = parse_date(row["starts_on"])
            except (ValueError, TypeError):
                errors["starts_on"] = _("Not a real date: %(value)s (use 2015-09-01 or 01.09.2015).") % {"value": row["starts_on"]}
                out["starts_on"] = None
        else:
            out["starts_on"] = today
        if out.get("starts_on") and out.get("birth_date") and out["starts_on"] < out["birth_date"]:
            errors["starts_on"] = _("The enrolment starts before the learner was born.")
        elif out.get("starts_on") and out["starts_on"] > today + dt.timedelta(days=366):
            errors["starts_on"] = _("The enrolment starts more than a year from now.")
        if errors:
            raise ValidationError(errors)

        # the learner: by PIN, or by name, birth date and sex
        existing = None
        if pin:
            existing = Learner.objects.filter(pin=pin, merged_into__isnull=True).first()
            if existing is not None and not Learner.objects.visible_to(actor).filter(pk=existing.pk).exists():
                raise ValidationError({"pin": _("A learner with this PIN is registered outside your reach; ask the "
                                                "organization where the child is enrolled to transfer them.")})
        else:
            key = names.search_key(" ".join(p for p in (out["last_name"], out["first_name"], out["patronymic"]) if p))
            same = list(Learner.objects.visible_to(actor).filter(search_key=key, birth_date=out["birth_date"], sex=out["sex"],
                                                                 merged_into__isnull=True)[:2])
            existing = same[0] if len(same) == 1 else None
        if existing is not None and existing.archived_at is not None:
            raise ValidationError({"pin": _("The learner's record is archived; restore it first.")})
        out["existing"] = existing
        identity = ("id", existing.pk) if existing else ("pin", pin) if pin else (
            "name", names.search_key(f'{out["last_name"]} {out["first_name"]} {out["patronymic"]}'), out["birth_date"])
        if (identity, level) in seen_keys:
            raise ValidationError({"level": _("The same learner is enrolled at this level on an earlier line of the file.")})
        out["unchanged"] = False
        if existing is not None:
            active = Enrolment.objects.filter(learner=existing, level=level, status=Enrolment.Status.ACTIVE).select_related(
                "organization").first()
            if active is not None and active.organization_id != org.pk:
                raise ValidationError({"level": _(
                    "The learner already has an active enrolment at this level (%(org)s, from %(date)s): a second one is "
                    "not possible; transfer the learner instead.") % {"org": active.organization, "date": active.starts_on}})
            out["unchanged"] = active is not None
        if pin:
            seen_pins.add(pin)
        seen_keys.add((identity, level))
        return out

    def write(rows):
        for r in rows:
            learner = r["existing"]
            if learner is None:
                learner = services.create_learner(
                    actor, pin=r["pin"], last_name=r["last_name"], first_name=r["first_name"], patronymic=r["patronymic"],
                    birth_date=r["birth_date"], sex=r["sex"], territory=r["territory"], organization=r["organization"],
                    confirm_new_despite_duplicates=True,
                )
                stats.created += 1
            else:
                stats.matched += 1
            if r["unchanged"]:
                stats.unchanged += 1
            else:
                services.enrol(actor, learner, organization=r["organization"], level=r["level"], grade=r["grade"],
                               class_name=r["class_name"], form=r["form"], programme=r["programme"], starts_on=r["starts_on"])
                stats.enrolled += 1
            stats.ids.append(learner.pk)
        audit.record(actor, AuditEvent.Action.CREATE, None, event="learner.roster_imported", object_type_label="learners.learner",
                     changes={"file": name, "created": stats.created, "matched": stats.matched, "enrolled": stats.enrolled,
                              "unchanged": stats.unchanged})
        return len(rows)

    try:
        report = run_import(name, data, aliases=ALIASES, required=REQUIRED, validate=validate, write=write,
                            valid_only=valid_only)
    except ValidationError as exc:  # a service refused a row that passed validation: nothing was written
        raise ImportFileError(" ".join(exc.messages)) from exc
    return report, stats


def services_orgs(actor) -> list[int]:
    """Organizations where the user holds a role that may enrol learners."""
    return [g.organization_id for g in access.grants(actor)
            if g.organization_id and access.permission(g.role, Rec.ENROLMENT) == "w"]
