"""Organizations from a CSV/XLSX registry extract, with a validation report."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from . import audit
from .models import LANGUAGES_OF_INSTRUCTION, AuditEvent, Organization, Territory
from .roles import OrgKind
from .tabular import run_import

ALIASES = {
    "code": ["код", "коду", "код организации"],
    "kind": ["тип", "түрү", "вид"],
    "name": ["name_ky", "аталышы", "наименование (кыргызча)"],
    "name_ru": ["наименование", "наименование (русский)"],
    "territory": ["soate", "соате", "код соате", "territory_code"],
    "address": ["адрес", "дареги"],
    "phone": ["телефон"],
    "email": ["e-mail", "электронная почта"],
    "languages": ["языки обучения", "окутуу тилдери"],
}
KINDS = {k.value for k in OrgKind} | {k.label.lower() for k in OrgKind}


def import_file(name: str, data: bytes, *, actor=None, valid_only: bool = False):
    territories = {t.code: t for t in Territory.objects.current()}
    existing = {o.code: o for o in Organization.objects.all()}
    seen = set()

    def validate(row):
        errors = {}
        code = row.get("code", "").strip()
        if not code:
            errors["code"] = _("The code is required.")
        elif code in seen:
            errors["code"] = _("This code appears twice in the file.")
        kind = row.get("kind", "").strip().lower()
        if kind not in {k.value for k in OrgKind}:
            errors["kind"] = _("Unknown kind %(kind)s; use one of: %(kinds)s.") % {
                "kind": kind or "—", "kinds": ", ".join(k.value for k in OrgKind)}
        if not row.get("name", "").strip():
            errors["name"] = _("The name is required.")
        territory = territories.get(row.get("territory", "").strip())
        if territory is None:
            errors["territory"] = _("Unknown SOATE code %(code)s.") % {"code": row.get("territory", "") or "—"}
        if row.get("email"):
            try:
                validate_email(row["email"])
            except ValidationError:
                errors["email"] = _("Enter a valid e-mail address.")
        langs = [c.strip() for c in row.get("languages", "").split(",") if c.strip()]
        if any(c not in LANGUAGES_OF_INSTRUCTION for c in langs):
            errors["languages"] = _("Unknown language code; use: %(codes)s.") % {"codes": ", ".join(LANGUAGES_OF_INSTRUCTION)}
        if errors:
            raise ValidationError(errors)
        seen.add(code)
        return dict(code=code, kind=kind, name=row["name"].strip(), name_ru=row.get("name_ru", "").strip(), territory=territory,
                    address=row.get("address", ""), phone=row.get("phone", ""), email=row.get("email", ""), languages=",".join(langs))

    def write(rows):
        created = updated = 0
        for r in rows:
            org = existing.get(r["code"])
            before = audit.snapshot(org) if org else None
            org = org or Organization()
            for k, v in r.items():
                setattr(org, k, v)
            org.save()
            if before is None:
                created += 1
                audit.record_create(actor, org, event="organization.imported")
            else:
                updated += 1
                audit.record_update(actor, org, before, event="organization.imported")
        audit.record(actor, AuditEvent.Action.UPDATE, None, event="organization.import_file", object_type_label="core.organization",
                     changes={"file": name, "created": created, "updated": updated})
        return created + updated

    return run_import(name, data, aliases=ALIASES, required=["code", "kind", "name", "territory"], validate=validate, write=write,
                      valid_only=valid_only)
