"""Forms of the referral pages. They only shape input; the services decide and validate."""

from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from birge.core.forms import Form
from birge.core.models import Organization
from birge.core.roles import PMPK_KINDS, OrgKind

from . import services
from .models import EARLY_DOMAINS, Concern, Domain, Referral


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


class OrganizationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj} — {obj.territory.name}"


def receivers_near(learner):
    """PMPKs and early-intervention services of the learner's region, and the republican PMPK."""
    kinds = set(PMPK_KINDS) | {OrgKind.EARLY_INTERVENTION}
    q = Q(territory__code__startswith=learner.territory.code[:5]) | Q(kind=OrgKind.PMPK_REPUBLICAN)
    return Organization.objects.filter(q, kind__in=kinds, is_active=True).select_related("territory").order_by("kind", "name")


class ReferralForm(Form):
    kind = forms.ChoiceField(label=_("Kind of referral"), choices=Referral.Kind.choices, widget=forms.RadioSelect,
                             initial=Referral.Kind.PMPK)
    receiving_organization = OrganizationChoiceField(
        label=_("Refer to"), queryset=Organization.objects.none(),
        help_text=_("The territorial PMPK of the child's district is proposed."))
    referring_organization = OrganizationChoiceField(label=_("On behalf of"), queryset=Organization.objects.none(),
                                                     required=False)
    reason = forms.CharField(label=_("Reason for the referral"), widget=forms.Textarea(attrs={"rows": 5}), max_length=5000,
                             help_text=_("What worries you about the child's development or learning, and since when. "
                                         "Describe what the child does, not a diagnosis."))
    tried = forms.CharField(label=_("What was tried"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000,
                            required=False,
                            help_text=_("Support, adaptations or consultations already tried, and how they worked."))
    parent_consent = forms.BooleanField(
        label=_("I agree that the PMPK assesses my child"), required=False,
        help_text=_("Your consent is recorded in the consent register. You may withdraw it later."))

    def __init__(self, *args, learner, user, parent: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["receiving_organization"].queryset = receivers_near(learner)
        proposed = services.receiver_for(learner)
        if proposed is not None:
            self.fields["receiving_organization"].initial = proposed.pk
        own = Organization.objects.filter(pk__in=services._writing_organizations(user)).select_related("territory")
        self.fields["referring_organization"].queryset = own
        if own.count() <= 1:
            del self.fields["referring_organization"]
        if not parent:
            del self.fields["parent_consent"]
        self._describe()


class ReferralEditForm(Form):
    receiving_organization = OrganizationChoiceField(label=_("Refer to"), queryset=Organization.objects.none())
    reason = ReferralForm.base_fields["reason"]
    tried = ReferralForm.base_fields["tried"]

    def __init__(self, *args, learner, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["receiving_organization"].queryset = receivers_near(learner)
        self._describe()


class ObservationForm(Form):
    domain = forms.ChoiceField(label=_("Area of functioning"), choices=[("", _("Choose an area"))] + list(Domain.choices))
    text = forms.CharField(label=_("What you observed"), widget=forms.Textarea(attrs={"rows": 5}), max_length=5000,
                           help_text=_("What the child does, in which situations, how often. No diagnosis."))
    strengths = forms.CharField(label=_("Strengths"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000,
                                required=False, help_text=_("What the child does well in this area."))


class AttachmentForm(Form):
    file = forms.FileField(label=_("Document"), help_text=_("PDF, JPEG or PNG, up to 10 MB."))
    description = forms.CharField(label=_("Description"), max_length=300, required=False,
                                  help_text=_("For example: the teacher's report, samples of work, a medical letter."))


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class ScheduleForm(Form):
    appointment_at = forms.DateTimeField(label=_("Date and time of the assessment"), widget=DateTimeInput(),
                                         input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"])
    appointment_place = forms.CharField(label=_("Place"), max_length=300, required=False,
                                        help_text=_("The address and room, or how the family joins remotely."))


class ReasonForm(Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class DelayReasonForm(Form):
    reason = forms.CharField(label=_("Reason for the delay"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000,
                             help_text=_("Why the work is late or will be late, and when it is expected."))


class LearnerSearchForm(Form):
    q = forms.CharField(label=_("Child's name or PIN"), max_length=100,
                        help_text=_("Any spelling: Cyrillic or Latin, with or without ң ө ү."))


class ConcernForm(Form):
    noticed_on = forms.DateField(label=_("Noticed on"), widget=forms.DateInput(), initial=timezone.localdate)
    place = forms.ChoiceField(label=_("Where"), choices=Concern.Place.choices, widget=forms.RadioSelect)
    place_detail = forms.CharField(label=_("Place details"), max_length=200, required=False,
                                   help_text=_("For example the name of the clinic or the village."))
    summary = forms.CharField(label=_("Other remarks"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000,
                              required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(Domain.choices)
        for code in EARLY_DOMAINS:
            self.fields[f"noticed_{code}"] = forms.CharField(
                label=labels[code], required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
        order = ["noticed_on", "place", "place_detail"] + [f"noticed_{c}" for c in EARLY_DOMAINS] + ["summary"]
        self.order_fields(order)
        self._describe()

    def noticed(self) -> dict:
        return {code: self.cleaned_data.get(f"noticed_{code}", "") for code in EARLY_DOMAINS
                if (self.cleaned_data.get(f"noticed_{code}") or "").strip()}

    def domain_fields(self):
        return [self[f"noticed_{c}"] for c in EARLY_DOMAINS]
