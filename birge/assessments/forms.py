"""Forms of PMPK assessment. They only collect input; the services decide."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from birge.core.forms import Form
from birge.learners.forms import OrganizationChoiceField, apply_errors  # noqa: F401  (re-exported for the views)
from birge.learners.models import FormOfEducation, Programme

from .models import AssessmentSession, CatalogueItem, Conclusion, Difficulty, Domain, Source, Specialty

MEMBER_ROWS = 6


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.full_name or obj.username


class SessionForm(Form):
    scheduled_at = forms.DateTimeField(label=_("Date and time"), widget=DateTimeInput(),
                                       input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
                                       help_text=_("For example 2026-03-14 10:30."))
    mode = forms.ChoiceField(label=_("How"), choices=AssessmentSession.Mode.choices, widget=forms.RadioSelect,
                             initial=AssessmentSession.Mode.IN_PERSON)
    place = forms.CharField(label=_("Place"), required=False, max_length=300,
                            help_text=_("The address and room, for a session in person."))
    remote_details = forms.CharField(label=_("How to join"), required=False, max_length=300,
                                     help_text=_("The link or phone number, for a remote session."))
    invite_family = forms.BooleanField(label=_("Invite the family (they are told in the system and by e-mail)"),
                                       required=False, initial=True)
    invitation_note = forms.CharField(label=_("Note to the family"), required=False,
                                      widget=forms.Textarea(attrs={"rows": 3}),
                                      help_text=_("What to bring, for example the child's school report."))


class MemberRowForm(Form):
    user = UserChoiceField(label=_("Member"), queryset=None, required=False)
    specialty = forms.ChoiceField(label=_("Specialty"), choices=[("", "—"), *Specialty.choices], required=False)
    is_chair = forms.BooleanField(label=_("Chairs the session"), required=False)

    def __init__(self, *args, staff=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = staff
        self._describe()

    def clean(self):
        data = super().clean()
        if data.get("user") and not data.get("specialty"):
            self.add_error("specialty", _("Choose the specialty of this member."))
        return data


def member_formset(staff, data=None, extra=MEMBER_ROWS, initial=None):
    FormSet = forms.formset_factory(MemberRowForm, extra=extra, max_num=30)
    return FormSet(data, prefix="members", initial=initial, form_kwargs={"staff": staff})


class MemberForm(Form):
    user = UserChoiceField(label=_("Member"), queryset=None)
    specialty = forms.ChoiceField(label=_("Specialty"), choices=Specialty.choices)
    is_chair = forms.BooleanField(label=_("Chairs the session"), required=False)

    def __init__(self, *args, staff=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = staff
        self._describe()


class HeldForm(Form):
    parent_present = forms.TypedChoiceField(
        label=_("Was a parent or legal representative present?"), widget=forms.RadioSelect,
        choices=[("yes", _("Yes")), ("no", _("No"))], coerce=lambda v: v == "yes")
    attendance_note = forms.CharField(label=_("Attendance note"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                      help_text=_("Who came with the child; why the family could not come."))
    sources = forms.MultipleChoiceField(label=_("Observations used"), choices=Source.choices,
                                        widget=forms.CheckboxSelectMultiple)
    observations = forms.CharField(label=_("Observations"), required=False, widget=forms.Textarea(attrs={"rows": 4}))


class FindingForm(Form):
    member = forms.ModelChoiceField(label=_("Specialist"), queryset=None)
    domain = forms.ChoiceField(label=_("Area of functioning"), choices=Domain.choices)
    difficulty = forms.ChoiceField(label=_("Degree of difficulty"), choices=Difficulty.choices, required=False)
    text = forms.CharField(label=_("Finding"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)
    strengths = forms.CharField(label=_("Strengths"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                help_text=_("What the child does well in this area."))

    def __init__(self, *args, session=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = session.members.select_related("user")
        self._describe()


class ReasonForm(Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class ConclusionForm(Form):
    programme = forms.ChoiceField(label=_("Recommended programme"), choices=Programme.choices, widget=forms.RadioSelect)
    recommended_form = forms.ChoiceField(label=_("Recommended form of education"), choices=FormOfEducation.choices,
                                         help_text=_("The family chooses the school; the PMPK recommends the conditions."))
    with_tutor = forms.BooleanField(label=_("With a tutor or assistant"), required=False)
    valid_until = forms.DateField(label=_("Valid until"), required=False, widget=forms.DateInput())
    next_review_on = forms.DateField(label=_("Next review"), required=False, widget=forms.DateInput())
    family_language = forms.ChoiceField(label=_("Language of the document"), choices=Conclusion.Language.choices,
                                        help_text=_("The family chooses Kyrgyz or Russian."))
    summary = forms.CharField(label=_("Summary of the findings"), required=False, widget=forms.Textarea(attrs={"rows": 5}),
                              max_length=10000)


class CatalogueChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        unit = f" ({obj.get_unit_display()})" if obj.unit else ""
        return f"{obj.get_kind_display()}: {obj.name}{unit}"


class ItemRowForm(Form):
    catalogue = CatalogueChoiceField(label=_("Recommendation"), queryset=None, required=False)
    minutes_per_week = forms.IntegerField(label=_("Minutes per week"), required=False, min_value=1, max_value=2400)
    sessions_per_month = forms.IntegerField(label=_("Sessions per month"), required=False, min_value=1, max_value=62)
    detail = forms.CharField(label=_("Detail"), required=False, max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["catalogue"].queryset = CatalogueItem.objects.filter(is_active=True).order_by("kind", "position")
        self._describe()


class BaseItemFormSet(forms.BaseFormSet):
    def rows(self) -> list[dict]:
        """The filled rows not marked for removal, in order (the service validates them)."""
        out = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if data.get("DELETE") or not data.get("catalogue"):
                continue
            out.append({k: data.get(k) for k in ("catalogue", "minutes_per_week", "sessions_per_month", "detail")})
        return out


def item_formset(data=None, initial=None, extra=2):
    FormSet = forms.formset_factory(ItemRowForm, formset=BaseItemFormSet, extra=extra, can_delete=True, max_num=80)
    return FormSet(data, prefix="items", initial=initial)


class ReleaseForm(Form):
    """The family's release: the organization they chose and their consent, given here."""

    organization = OrganizationChoiceField(label=_("Organization"), queryset=None,
                                           help_text=_("The kindergarten, school or college you chose. It may differ from "
                                                       "the one that referred your child."))
    give_consent = forms.BooleanField(
        label=_("I consent to releasing this conclusion to the organization I chose. Its recommendations become the "
                "organization's obligations."), required=False)

    def __init__(self, *args, organizations=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations
        self._describe()


class PaperReleaseForm(Form):
    """The PMPK records a release for the family from a signed paper consent."""

    organization = OrganizationChoiceField(label=_("Organization"), queryset=None)
    given_by = forms.ModelChoiceField(label=_("Consent given by"), queryset=None)
    given_at = forms.DateField(label=_("Signed on"), widget=forms.DateInput(), initial=timezone.localdate)
    document = forms.FileField(label=_("Scan of the signed consent"), required=False,
                               help_text=_("PDF, JPEG or PNG, at most 10 MB."))

    def __init__(self, *args, organizations=None, guardians=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations
        self.fields["given_by"].queryset = guardians
        self._describe()


class ReleaseByNumberForm(Form):
    """A coordinator records the family's paper consent to their organization and the conclusion's number."""

    consent = forms.ModelChoiceField(label=_("The family's consent"), queryset=None,
                                     help_text=_("Record the signed consent on the learner's page first."))
    number = forms.CharField(label=_("Conclusion number"), max_length=40, help_text=_("As printed on the conclusion."))

    def __init__(self, *args, consents=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["consent"].queryset = consents
        self.fields["consent"].label_from_instance = lambda c: f"{c.recipient} · {c.given_at:%Y-%m-%d}"
        self._describe()


class DocumentLanguageForm(Form):
    lang = forms.ChoiceField(label=_("Language"), choices=Conclusion.Language.choices, required=False)
