"""How a disaggregation value is written: a stable export value, a label, an order, a parent."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.utils.translation import gettext as _

from birge.core.models import LANGUAGES_OF_INSTRUCTION, Organization, Territory
from birge.core.roles import OrgKind, Role

from .definitions import AGE_BANDS, DOMAIN_BITS, age_band_label, domain_label


@dataclass(frozen=True)
class Label:
    value: str  # stable, for exports and the API (SOATE code, organization code, choice slug)
    text: str
    order: tuple
    parent: object = None  # raw value of the parent dimension (district → region id, organization → district id)


def _choices(model_label: str, field_name: str) -> list[tuple[str, str]]:
    return list(apps.get_model(model_label)._meta.get_field(field_name).choices)


def _choice_labels(choices, none_text):
    index = {v: (i, str(t)) for i, (v, t) in enumerate(choices)}

    def make(values):
        out = {}
        for v in values:
            if v is None or v == "":
                out[v] = Label("none", none_text, (len(index) + 1,))
            elif v in index:
                out[v] = Label(str(v), index[v][1], (index[v][0],))
            else:
                out[v] = Label(str(v), str(v), (len(index), str(v)))
        return out

    return make


def labels_for(dim: str, values) -> dict:
    """{raw value: Label} for the raw values a query produced."""
    values = set(values)
    if dim in ("region", "district"):
        ids = [v for v in values if v is not None]
        units = {t.pk: t for t in Territory.objects.filter(pk__in=ids)}
        out = {}
        for v in values:
            t = units.get(v)
            out[v] = (Label(t.code, t.name, (t.code,), t.region_id if dim == "district" else None) if t
                      else Label("none", _("Not known"), ("~",)))
        return out
    if dim == "organization":
        ids = [v for v in values if v is not None]
        orgs = {o.pk: o for o in Organization.objects.filter(pk__in=ids).select_related("territory")}
        out = {}
        for v in values:
            o = orgs.get(v)
            if o is None:
                out[v] = Label("none", _("Not enrolled"), ("~",))
            else:
                parent = o.territory.district_id or o.territory.region_id
                out[v] = Label(o.code, str(o), (str(o), o.code), parent)
        return out
    if dim == "org_kind":
        return _choice_labels(OrgKind.choices, _("Not enrolled"))(values)
    if dim == "level":
        return _choice_labels(_choices("learners.Enrolment", "level"), _("Not enrolled"))(values)
    if dim == "form":
        return _choice_labels(_choices("learners.Enrolment", "form"), _("Not enrolled"))(values)
    if dim == "sex":
        return _choice_labels(_choices("learners.Learner", "sex"), _("Not recorded"))(values)
    if dim == "category":
        return _choice_labels(_choices("learners.DisabilityStatus", "category"), _("No valid disability status"))(values)
    if dim == "language":
        return _choice_labels([(k, v) for k, v in LANGUAGES_OF_INSTRUCTION.items()], _("Not recorded"))(values)
    if dim == "role":
        return _choice_labels(Role.choices, _("Not recorded"))(values)
    if dim == "disability":
        return _choice_labels([("yes", _("With a disability")), ("no", _("Without a disability"))], _("Not known"))(values)
    if dim == "urban":
        out = {}
        for v in values:
            if v is None:
                out[v] = Label("none", _("Not known"), (2,))
            else:
                out[v] = Label("urban" if v else "rural", _("Urban") if v else _("Rural"), (0 if v else 1,))
        return out
    if dim == "domain":
        order = list(DOMAIN_BITS)
        return {v: Label(str(v), domain_label(v), (order.index(v) if v in order else 99, str(v))) for v in values}
    if dim == "age_group":
        return {v: Label(age_band_label(v).replace("–", "-") if v is not None else "none", age_band_label(v),
                         (AGE_BANDS.index(v) if v in AGE_BANDS else 99,)) for v in values}
    return {v: Label(str(v), str(v), (str(v),)) for v in values}
