"""Reading an agency register: its fields, column headings, values and places.

An agency file is read by ``birge.core.tabular`` (CSV in UTF-8 or Windows-1251, or XLSX). Its
columns are mapped onto Birge's fields through the source's saved mapping and the usual Russian
and Kyrgyz headings (:data:`ALIASES`); the ten fields of the linkage contract
(``id,pin,last_name,first_name,patronymic,birth_date,sex,region,district,settlement``) plus the
register details an agency adds (disability category and dates, certificate, the concern of a
health referral, address).

:func:`clean_row` turns one row into the values stored on an ``ImportedPerson``: errors that
make the row unusable (no given name, no or impossible birth date, unknown sex code, an id used
twice) are a ``ValidationError`` field map; doubts that do not (a PIN that is not valid or that
disagrees with the birth date or sex, a place that is not recognised) are kept with the row as
its *problems* — a register that mistypes PINs must still be linkable by name and date.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy

from birge.core import names
from birge.core.models import Territory
from birge.core.pin import PinError, normalize_sex, parse_pin, pin_mismatches
from birge.learners.models import DisabilityStatus, Sex

from .linkage.records import FIELDS as LINK_FIELDS

DETAIL_FIELDS = ("disability_category", "disability_from", "disability_until", "certificate_number", "concern", "address")
FIELDS = LINK_FIELDS + DETAIL_FIELDS
REQUIRED = ("first_name", "birth_date")
FIELD_LABELS = {
    "id": gettext_lazy("Id in the source"),
    "pin": gettext_lazy("PIN"),
    "last_name": gettext_lazy("Surname"),
    "first_name": gettext_lazy("Given name"),
    "patronymic": gettext_lazy("Patronymic or уулу/кызы form"),
    "birth_date": gettext_lazy("Birth date"),
    "sex": gettext_lazy("Sex"),
    "region": gettext_lazy("Region"),
    "district": gettext_lazy("District"),
    "settlement": gettext_lazy("Settlement"),
    "disability_category": gettext_lazy("Disability category"),
    "disability_from": gettext_lazy("Disability status from"),
    "disability_until": gettext_lazy("Disability status until"),
    "certificate_number": gettext_lazy("Certificate number"),
    "concern": gettext_lazy("Concern (health referral)"),
    "address": gettext_lazy("Address"),
}

# Headings seen in agency files (Russian, Kyrgyz, English); a source's saved mapping comes first.
ALIASES: dict[str, list[str]] = {
    "id": ["record_id", "№", "номер", "номер записи", "катталуу номери", "no"],
    "pin": ["пин", "инн", "персональный номер", "жеке номер", "personal number"],
    "last_name": ["surname", "фамилия", "фамилиясы"],
    "first_name": ["given_name", "name", "имя", "аты"],
    "patronymic": ["отчество", "атасынын аты"],
    "birth_date": ["date_of_birth", "дата рождения", "туулган күнү"],
    "sex": ["gender", "пол", "жынысы"],
    "region": ["oblast", "область", "облусу"],
    "district": ["rayon", "район", "району"],
    "settlement": ["village", "city", "населенный пункт", "населённый пункт", "айыл", "село", "калктуу пункт"],
    "disability_category": ["category", "категория", "категориясы", "группа инвалидности"],
    "disability_from": ["status_from", "дата установления", "берилген күнү"],
    "disability_until": ["status_until", "срок до", "действует до", "чейин"],
    "certificate_number": ["certificate", "номер справки", "справка", "маалымкат"],
    "concern": ["reason", "причина направления", "себеби", "concern_text"],
    "address": ["адрес", "дареги"],
}

SEX_WORDS = {"f": Sex.FEMALE, "m": Sex.MALE, "ж": Sex.FEMALE, "м": Sex.MALE, "жен": Sex.FEMALE, "муж": Sex.MALE,
             "кыз": Sex.FEMALE, "эркек": Sex.MALE, "female": Sex.FEMALE, "male": Sex.MALE, "аял": Sex.FEMALE}
CATEGORY_WORDS = {
    "child": DisabilityStatus.Category.CHILD, "ребенок": DisabilityStatus.Category.CHILD,
    "ребёнок": DisabilityStatus.Category.CHILD, "овз": DisabilityStatus.Category.CHILD,
    "ребенок-инвалид": DisabilityStatus.Category.CHILD, "ден соолугунун мүмкүнчүлүгү чектелген бала": DisabilityStatus.Category.CHILD,
    "бала": DisabilityStatus.Category.CHILD, "i": DisabilityStatus.Category.GROUP_I, "1": DisabilityStatus.Category.GROUP_I,
    "group-1": DisabilityStatus.Category.GROUP_I, "ii": DisabilityStatus.Category.GROUP_II,
    "2": DisabilityStatus.Category.GROUP_II, "group-2": DisabilityStatus.Category.GROUP_II,
    "iii": DisabilityStatus.Category.GROUP_III, "3": DisabilityStatus.Category.GROUP_III,
    "group-3": DisabilityStatus.Category.GROUP_III,
}
INDEFINITE_WORDS = {"indefinite", "бессрочно", "бессрочная", "мөөнөтсүз"}
MAX_AGE_YEARS = 120


def check_file_size(upload) -> None:
    """Refuse, before reading it, a file larger than the import limit (``BIRGE_IMPORT["max_file_mb"]``)."""
    from . import conf

    limit = conf.imports("max_file_mb")
    if upload.size > limit * 1024 * 1024:
        raise ValidationError(_(
            "The file is %(size)s MB; files up to %(limit)s MB are imported here. Split it into parts (by district, "
            "say), or link it on the command line with “birge link”, which reads files of any size.") % {
            "size": f"{upload.size / 1024 / 1024:.0f}", "limit": limit}, code="too-large")


def aliases_for(mapping: dict | None) -> dict[str, list[str]]:
    """The headings accepted for each field: the source's own first, then the usual ones."""
    out = {}
    for field in FIELDS:
        own = (mapping or {}).get(field) or ""
        own_list = [own] if isinstance(own, str) else list(own)
        out[field] = [h for h in own_list if h] + ALIASES.get(field, [])
    return out


def clean_mapping(mapping) -> dict[str, str]:
    """A mapping {field: heading} with known fields and non-empty headings; a ValidationError otherwise."""
    if mapping in (None, ""):
        return {}
    if not isinstance(mapping, dict):
        raise ValidationError({"column_mapping": _("The column mapping is an object: {\"field\": \"heading\", …}.")})
    unknown = [k for k in mapping if k not in FIELDS]
    if unknown:
        raise ValidationError({"column_mapping": _("Unknown fields in the column mapping: %(fields)s; known: %(known)s.") % {
            "fields": ", ".join(map(str, unknown)), "known": ", ".join(FIELDS)}})
    out = {}
    seen: dict[str, str] = {}
    for field, heading in mapping.items():
        heading = str(heading or "").strip()
        if not heading:
            continue
        key = heading.lower()
        if key in seen:
            raise ValidationError({"column_mapping": _("The heading “%(heading)s” is given for both %(a)s and %(b)s.") % {
                "heading": heading, "a": seen[key], "b": field}})
        seen[key] = field
        out[field] = heading
    return out


_ISO = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_DMY = re.compile(r"([0-9]{1,2})[./]([0-9]{1,2})[./]([0-9]{4})")


def parse_date(value: str) -> dt.date | None:
    """ISO (2015-09-01, also with a time after it) or 01.09.2015; None if empty; ValueError otherwise."""
    s = (value or "").strip()
    if not s:
        return None
    m = _ISO.fullmatch(s[:10]) if len(s) >= 8 else None
    if m and (len(s) == 10 or s[10:11] in ("T", " ")):
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    m = _DMY.fullmatch(s)
    if m:
        return dt.date(int(m[3]), int(m[2]), int(m[1]))
    raise ValueError(s)


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


# --- places ---------------------------------------------------------------------------------------

_GENERIC = {
    "raionu", "raion", "raioni", "district", "oblusu", "oblast", "region", "shari", "gorod", "city", "g", "s", "selo",
    "aiyl", "aimagi", "aimak", "okrug", "ao", "town", "posiolok", "posolok", "pgt", "shaarcha", "kalaasi",
}
_SUFFIXES = ("skaia", "skoe", "skii", "ski", "skiy", "skaya", "skogo", "ia")


def place_key(value: str) -> str:
    """A place name folded across scripts with the generic words and Russian adjective endings dropped:
    Сокулук району = Сокулукский район = Sokuluk District = сокулук."""
    words = []
    for w in names.fold(value or "").replace("-", " ").split():
        if w in _GENERIC:
            continue
        for suffix in _SUFFIXES:
            if w.endswith(suffix) and len(w) - len(suffix) >= 3:
                w = w[: -len(suffix)]
                break
        words.append(w)
    return " ".join(words)


def _skeleton(key: str) -> str:
    return re.sub(r"[aeiouy ]", "", key)


class TerritoryResolver:
    """Finds a SOATE unit from a row's region, district and settlement (codes or names, any script).

    A SOATE code (14 digits, or its significant 5/8/11-digit part) is looked up directly; names
    are matched within the unit above when that one is known. Only current units count.
    """

    def __init__(self):
        self.by_code: dict[str, Territory] = {}
        self.by_key: dict[tuple[str, str], list[Territory]] = {}
        for t in Territory.objects.current().select_related("region", "district"):
            self.by_code[t.code] = t
            group = "region" if t.level in Territory.TOP_LEVELS else "district" if t.level in Territory.DISTRICT_LEVELS else "local"
            for name in {t.name_ky, t.name_ru, t.name_en}:
                key = place_key(name)
                if key:
                    self.by_key.setdefault((group, key), []).append(t)
                    self.by_key.setdefault((group, "~" + _skeleton(key)), []).append(t)
        self.cache: dict[tuple, Territory | None] = {}

    def _code(self, value: str) -> Territory | None:
        v = value.strip()
        if v.isdigit() and v.startswith("417") and len(v) in (5, 8, 11, 14):
            return self.by_code.get(v.ljust(14, "0"))
        return None

    def _name(self, group: str, value: str, within: Territory | None) -> Territory | None:
        key = place_key(value)
        if not key:
            return None
        for k in (key, "~" + _skeleton(key)):
            found = {t.pk: t for t in self.by_key.get((group, k), [])
                     if within is None or t.code.startswith(within.prefix)}
            if len(found) == 1:
                return next(iter(found.values()))
            if found:
                return None  # ambiguous: better none than a wrong one
        return None

    def resolve(self, region: str, district: str, settlement: str) -> Territory | None:
        """The most specific unit found, or None."""
        cache_key = (region, district, settlement)
        if cache_key in self.cache:
            return self.cache[cache_key]
        found = None
        for value in (settlement, district, region):
            found = self._code(value or "")
            if found:
                break
        if found is None:
            top = self._name("region", region, None) if region else None
            dist = self._name("district", district, top) if district else None
            if dist is None and district:
                dist = self._name("region", district, None)  # a city of republican significance given as district
            local = self._name("local", settlement, dist or top) if settlement else None
            if local is None and settlement and dist is None:
                local = self._name("district", settlement, top)  # a town given as settlement
            found = local or dist or top
        self.cache[cache_key] = found
        return found


# --- one row --------------------------------------------------------------------------------------

@dataclass
class CleanRow:
    values: dict  # the ImportedPerson fields
    problems: list  # [{"field", "message"}]


def problem(field: str, message) -> dict:
    return {"field": field, "message": str(message)}


def clean_row(row: dict, *, resolver: TerritoryResolver, seen_ids: set, today: dt.date | None = None) -> CleanRow:
    """The stored values of one row, or a ValidationError {field: message} when the row is unusable."""
    today = today or timezone.localdate()
    errors: dict = {}
    problems: list = []
    get = lambda f: (row.get(f) or "").strip()  # noqa: E731

    record_id = get("id")
    if record_id:
        if record_id in seen_ids:
            errors["id"] = _("This id was already used on an earlier line.")
        seen_ids.add(record_id)
    first = names.normalize_display(get("first_name"))
    last = names.normalize_display(get("last_name"))
    patronymic = names.normalize_display(get("patronymic"))
    if not first:
        errors["first_name"] = _("The given name is required.")
    for field, value in (("first_name", first), ("last_name", last), ("patronymic", patronymic)):
        if len(value) > 100:
            errors[field] = _("Keep names under 100 characters.")
    birth_date = None
    try:
        birth_date = parse_date(get("birth_date"))
    except ValueError:
        errors["birth_date"] = _("Not a real date: %(value)s (use 2015-09-01 or 01.09.2015).") % {"value": get("birth_date")}
    else:
        if birth_date is None:
            errors["birth_date"] = _("The birth date is required.")
        elif birth_date > today:
            errors["birth_date"] = _("The birth date is in the future.")
        elif birth_date < _years_before(today, MAX_AGE_YEARS):
            errors["birth_date"] = _("The birth date is more than 120 years ago.")
    raw_sex = get("sex")
    sex = normalize_sex(raw_sex) or SEX_WORDS.get(raw_sex.casefold()) if raw_sex else ""
    if sex is None:
        errors["sex"] = _("Unknown sex code: %(value)s (use F or M).") % {"value": raw_sex}

    pin = get("pin").replace(" ", "")
    if pin:
        if len(pin) > 14:
            errors["pin"] = _("A PIN has 14 digits.")
        else:
            try:
                info = parse_pin(pin)
            except PinError as exc:
                problems.append(problem("pin", _("The PIN is not valid (%(why)s); the row is linked by name and date.") % {
                    "why": exc.message}))
            else:
                mismatched = pin_mismatches(info, birth_date, sex or None)
                if mismatched:
                    problems.append(problem("pin", _("The PIN does not agree with the %(fields)s of the row.") % {
                        "fields": ", ".join(str(FIELD_LABELS[f]).lower() for f in mismatched)}))
                if not sex:
                    sex = info.sex
    elif not errors:
        problems.append(problem("pin", _("No PIN: the row is linked by name, birth date, sex and place.")))

    region, district, settlement = get("region"), get("district"), get("settlement")
    territory = resolver.resolve(region, district, settlement) if (region or district or settlement) else None
    if territory is None:
        problems.append(problem("district", _("The place of residence was not recognised.")))

    details: dict = {}
    category = get("disability_category")
    if category:
        code = CATEGORY_WORDS.get(category.casefold())
        if code is None:
            errors["disability_category"] = _("Unknown disability category: %(value)s (use child, I, II or III).") % {
                "value": category}
        else:
            details["disability_category"] = code
    for field in ("disability_from", "disability_until"):
        value = get(field)
        if field == "disability_until" and value.casefold() in INDEFINITE_WORDS:
            details["indefinite"] = True
            continue
        try:
            day = parse_date(value)
        except ValueError:
            errors[field] = _("Not a real date: %(value)s (use 2015-09-01 or 01.09.2015).") % {"value": value}
        else:
            if day:
                details[field] = day.isoformat()
    for field in ("certificate_number", "concern", "address"):
        if get(field):
            details[field] = get(field)[:2000]
    if errors:
        raise ValidationError(errors)
    values = {
        "record_id": record_id[:100], "pin": pin, "last_name": last, "first_name": first, "patronymic": patronymic,
        "birth_date": birth_date, "sex": sex or "", "region": region[:200], "district": district[:200],
        "settlement": settlement[:200], "territory": territory, "details": details,
        "raw": {f: row.get(f, "") for f in FIELDS if f in row},
    }
    return CleanRow(values, problems)
