"""Forms of the exchange pages. They only shape input; the services decide and validate."""

from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _

from birge.core.forms import Form
from birge.core.models import Organization, Territory

from . import registers
from .models import AgencyKind, ImportSource, LegalBasis, OutreachState, Purpose


def apply_errors(form, exc: ValidationError, aliases: dict | None = None) -> None:
    """Show a service's ValidationError on the form: on the field when the form has it, else at the top."""
    aliases = aliases or {}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, messages in exc.message_dict.items():
        field = aliases.get(field, field)
        if field in form.fields and field != NON_FIELD_ERRORS:
            form.add_error(field, messages)
        else:
            form.add_error(None, messages)


class SourceForm(Form):
    name = forms.CharField(label=_("Name"), max_length=200,
                           help_text=_("The agency and the register, e.g. “MSEK register, Chüy region”."))
    kind = forms.ChoiceField(label=_("Kind of register"), choices=AgencyKind.choices, widget=forms.RadioSelect)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
                                  max_length=2000)
    is_active = forms.BooleanField(label=_("Active: files may be imported from this source"), required=False,
                                   initial=True)

    def __init__(self, *args, source: ImportSource | None = None, **kwargs):
        if source is not None and "initial" not in kwargs:
            kwargs["initial"] = {"name": source.name, "kind": source.kind, "description": source.description,
                                 "is_active": source.is_active,
                                 **{f"col_{f}": h for f, h in (source.column_mapping or {}).items()}}
        super().__init__(*args, **kwargs)
        for field in registers.FIELDS:
            self.fields[f"col_{field}"] = forms.CharField(
                label=_("Column for: %(field)s") % {"field": registers.FIELD_LABELS[field]}, required=False,
                max_length=100, help_text=_("The heading in the agency's files (usual headings are recognised anyway)."))
        self._describe()

    def mapping(self) -> dict:
        return {f: self.cleaned_data.get(f"col_{f}", "") for f in registers.FIELDS if self.cleaned_data.get(f"col_{f}")}


class UploadForm(Form):
    source = forms.ModelChoiceField(label=_("Source"), queryset=ImportSource.objects.none(), empty_label=None)
    file = forms.FileField(label=_("Register file"), validators=[registers.check_file_size], help_text=_(
        "CSV (UTF-8 or Windows-1251) or XLSX. Columns: id, pin, last_name, first_name, patronymic, birth_date, sex, "
        "region, district, settlement; a disability register may add disability_category, disability_from, "
        "disability_until, certificate_number."))
    legal_basis = forms.ChoiceField(label=_("Legal basis"), choices=LegalBasis.choices, widget=forms.RadioSelect)
    legal_reference = forms.CharField(label=_("Act, agreement or consents"), max_length=300, help_text=_(
        "Name, number and date, e.g. “Decree No. 68 of 31 January 2012”, or where the written consents are kept."))
    purpose = forms.ChoiceField(label=_("Purpose"), choices=Purpose.choices, widget=forms.RadioSelect)
    purpose_detail = forms.CharField(label=_("Purpose in detail"), widget=forms.Textarea(attrs={"rows": 2}),
                                     required=False, max_length=2000)
    organization = forms.ModelChoiceField(label=_("On behalf of"), queryset=Organization.objects.none(), empty_label=None,
                                          required=False)
    valid_only = forms.BooleanField(label=_("Import the usable rows even if some rows have errors"), required=False,
                                    help_text=_("Otherwise nothing is imported while any row has an error."))

    def __init__(self, *args, organizations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = ImportSource.objects.filter(is_active=True).order_by("name")
        self.fields["organization"].queryset = Organization.objects.filter(pk__in=[o.pk for o in organizations])
        if len(organizations) <= 1:
            self.fields["organization"].widget = forms.HiddenInput()
            if organizations:
                self.fields["organization"].initial = organizations[0].pk
        self._describe()


class ReasonForm(Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class DecisionForm(Form):
    decision = forms.ChoiceField(label=_("Decision"), widget=forms.RadioSelect, choices=())
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, required=False,
                             help_text=_("Required to reject or to mark unsure: what you checked and what you found."))

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["decision"].choices = list(choices)
        self._describe()


class RegisterPersonForm(Form):
    confirm_new = forms.BooleanField(
        label=_("I checked the similar learners listed and this is a different child"), required=False)


class FindForm(Form):
    """Search for out-of-school children within the user's reach."""

    territory = forms.ModelChoiceField(label=_("Territory"), queryset=Territory.objects.none(), required=False,
                                       empty_label=_("All of my territory"))

    def __init__(self, *args, territories=None, **kwargs):
        super().__init__(*args, **kwargs)
        if territories is not None:
            self.fields["territory"].queryset = territories
        self._describe()


class TransitionForm(Form):
    """One outreach step: a note (a reason where the step needs one), and what the step needs."""

    reason = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, required=False)
    moved_to = forms.ModelChoiceField(label=_("New territory of residence"), queryset=Territory.objects.none(),
                                      required=False, help_text=_("The case passes on to the local self-government there."))

    def __init__(self, *args, target: str = "", needs_reason: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if needs_reason:
            self.fields["reason"].required = True
            self.fields["reason"].label = _("Reason")
        if target == OutreachState.MOVED:
            self.fields["moved_to"].required = True
            self.fields["moved_to"].queryset = Territory.objects.current().exclude(
                level__in=Territory.TOP_LEVELS).order_by("code")
        else:
            del self.fields["moved_to"]
        self._describe()


class MergeForm(Form):
    keep = forms.ChoiceField(label=_("Record to keep"), widget=forms.RadioSelect, choices=(), help_text=_(
        "Every record of the other one moves to it; the other one is marked as merged (never deleted)."))
    reason = forms.CharField(label=_("Why these are one child"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000,
                             help_text=_("What you checked: documents, the family, the schools."))

    def __init__(self, *args, learners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["keep"].choices = [(str(lr.pk), _("Record %(id)s: %(name)s") % {"id": lr.pk, "name": lr.full_name})
                                       for lr in learners]
        self._describe()
