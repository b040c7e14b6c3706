"""Forms of the plan pages. Each write form carries the plan's ``lock_version`` as seen when the page opened."""

from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from birge.core.forms import Form
from birge.core.models import Organization, User
from birge.core.roles import EDUCATION_KINDS, SPECIALIST_ROLES, OrgKind, Role
from birge.learners.models import FormOfEducation, Guardian, Learner, Programme

from .models import AccommodationKind, Agreement, GoalArea, MemberRole, PlanState, Progress, ReviewDecision

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TEXT3 = forms.Textarea(attrs={"rows": 3})


def apply_errors(form, exc: ValidationError, aliases: dict | None = None) -> None:
    """Show a service's ValidationError on the form: on the field when the form has it, else at the top."""
    aliases = aliases or {}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, messages in exc.message_dict.items():
        field = aliases.get(field, field)
        if field in form.fields and field != NON_FIELD_ERRORS and not form.fields[field].widget.is_hidden:
            form.add_error(field, messages)
        else:
            form.add_error(None, list(messages))


class LockedForm(Form):
    lock_version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args, plan=None, **kwargs):
        super().__init__(*args, **kwargs)
        if plan is not None:
            self.initial.setdefault("lock_version", plan.lock_version)
        self._describe()


def staff_of(organization_id, roles):
    today = timezone.localdate()
    return User.objects.filter(
        is_active=True, memberships__organization_id=organization_id, memberships__role__in=roles,
        memberships__starts_on__lte=today,
    ).filter(Q(memberships__ends_on__isnull=True) | Q(memberships__ends_on__gt=today)).distinct().order_by("full_name", "username")


def catalogue(kinds):
    from birge.assessments.models import CatalogueItem

    return CatalogueItem.objects.filter(kind__in=kinds, is_active=True).order_by("kind", "position", "code")


class NameChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return getattr(obj, "full_name", "") or str(obj)


class CreatePlanForm(Form):
    learner = forms.ModelChoiceField(label=_("Learner"), queryset=Learner.objects.none())
    own_basis = forms.CharField(
        label=_("The organization's own basis"), required=False, widget=TEXT3,
        help_text=_("Only when no PMPK conclusion has been released to your organization: on what the plan rests "
                    "(for example the teachers' observations and the family's request)."))
    review_on = forms.DateField(label=_("Review date"), widget=DATE, required=False,
                                help_text=_("Leave empty for the usual review period."))

    def __init__(self, *args, learners=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["learner"].queryset = learners if learners is not None else Learner.objects.none()
        self.fields["learner"].label_from_instance = lambda lr: f"{lr.full_name} ({lr.birth_date:%Y-%m-%d})"
        self._describe()


class PlanDetailsForm(LockedForm):
    review_on = forms.DateField(label=_("Review date"), widget=DATE)
    form = forms.ChoiceField(label=_("Form of education"), choices=FormOfEducation.choices)
    programme = forms.ChoiceField(label=_("Programme"), choices=Programme.choices)
    tutor = NameChoiceField(label=_("Tutor or assistant"), queryset=User.objects.none(), required=False)
    timetable_notes = forms.CharField(label=_("Timetable notes"), required=False, widget=TEXT3)
    strengths = forms.CharField(label=_("Strengths and interests"), required=False, widget=TEXT3)
    effective_from = forms.DateField(label=_("Effective from"), widget=DATE, required=False,
                                     help_text=_("For an amendment: the first day the new version applies."))
    amendment_reason = forms.CharField(label=_("Reason for this version"), required=False, widget=TEXT3)

    def __init__(self, *args, plan=None, **kwargs):
        super().__init__(*args, plan=plan, **kwargs)
        self.fields["tutor"].queryset = staff_of(plan.organization_id, [Role.TUTOR])
        if plan.previous_id is None:
            del self.fields["effective_from"]
            del self.fields["amendment_reason"]
        self._describe()


class GoalForm(LockedForm):
    area = forms.ChoiceField(label=_("Area"), choices=GoalArea.choices)
    description = forms.CharField(label=_("Goal"), widget=TEXT3)
    baseline = forms.CharField(label=_("Baseline"), widget=TEXT3, help_text=_("What the learner does now."))
    target = forms.CharField(label=_("Target"), widget=TEXT3, help_text=_("What the learner will do by the review date."))
    measure = forms.CharField(label=_("Measure"), max_length=300, help_text=_("How progress is measured."))
    criteria = forms.CharField(label=_("Success criteria"), widget=TEXT3, help_text=_("When the goal counts as reached."))
    review_on = forms.DateField(label=_("Review date"), widget=DATE)


class AccommodationForm(LockedForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=AccommodationKind.choices, widget=forms.RadioSelect,
                             initial=AccommodationKind.ACCOMMODATION)
    catalogue = forms.ModelChoiceField(label=_("From the catalogue"), queryset=None, required=False)
    description = forms.CharField(label=_("Description"), required=False, widget=TEXT3,
                                  help_text=_("What exactly is done; required when nothing is chosen from the catalogue."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["catalogue"].queryset = catalogue(["condition", "test-accommodation", "device", "form"])
        self._describe()


class ServiceForm(LockedForm):
    catalogue = forms.ModelChoiceField(label=_("Service"), queryset=None)
    provider_user = NameChoiceField(label=_("Provider: a specialist or tutor of the organization"),
                                    queryset=User.objects.none(), required=False)
    provider_organization = forms.ModelChoiceField(
        label=_("Or provider: an outside organization"), queryset=Organization.objects.none(), required=False,
        help_text=_("For example a resource centre. Choose one provider."))
    minutes_per_week = forms.IntegerField(label=_("Minutes per week"), min_value=1, max_value=2400, required=False)
    starts_on = forms.DateField(label=_("Starts on"), widget=DATE, required=False)
    ends_on = forms.DateField(label=_("Ends on"), widget=DATE, required=False, help_text=_("The last day of the service."))
    notes = forms.CharField(label=_("Notes"), required=False, max_length=500)

    def __init__(self, *args, plan=None, **kwargs):
        super().__init__(*args, plan=plan, **kwargs)
        self.fields["catalogue"].queryset = catalogue(["service"])
        self.fields["provider_user"].queryset = staff_of(plan.organization_id, [*SPECIALIST_ROLES, Role.TUTOR])
        region = plan.organization.territory.code[:5]
        self.fields["provider_organization"].queryset = Organization.objects.filter(
            Q(territory__code__startswith=region) | Q(kind=OrgKind.PMPK_REPUBLICAN),
            kind__in=[*EDUCATION_KINDS, OrgKind.PMPK_TERRITORIAL, OrgKind.PMPK_REPUBLICAN, OrgKind.HEALTH_FACILITY],
            is_active=True).exclude(pk=plan.organization_id).order_by("name")
        self._describe()

    def clean(self):
        data = super().clean()
        if data.get("provider_user") and data.get("provider_organization"):
            self.add_error("provider_organization", _("Choose either a specialist or an outside organization, not both."))
        return data


class MemberForm(LockedForm):
    role = forms.ChoiceField(label=_("Role in the team"), choices=MemberRole.choices)
    user = NameChoiceField(label=_("Staff member"), queryset=User.objects.none(), required=False)
    guardian = NameChoiceField(label=_("Family member"), queryset=Guardian.objects.none(), required=False)
    name = forms.CharField(label=_("Or a name"), required=False, max_length=200,
                           help_text=_("For a member without an account."))

    def __init__(self, *args, plan=None, **kwargs):
        super().__init__(*args, plan=plan, **kwargs)
        today = timezone.localdate()
        self.fields["user"].queryset = User.objects.filter(
            is_active=True, memberships__organization_id=plan.organization_id, memberships__starts_on__lte=today,
        ).filter(Q(memberships__ends_on__isnull=True) | Q(memberships__ends_on__gt=today)).distinct().order_by("full_name")
        self.fields["guardian"].queryset = Guardian.objects.filter(
            links__learner_id=plan.learner_id, links__ends_on__isnull=True).distinct()
        self._describe()


class ReasonForm(LockedForm):
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=TEXT3)


class ActionForm(LockedForm):
    """A button that moves the plan on (propose, start a review)."""


class ActivateForm(LockedForm):
    effective_from = forms.DateField(label=_("Effective from"), widget=DATE, required=False,
                                     help_text=_("Leave empty for today (or the date of the amendment)."))


class AmendForm(LockedForm):
    effective_from = forms.DateField(label=_("Effective from"), widget=DATE,
                                     help_text=_("The first day the amended plan applies; not before the current version."))
    reason = forms.CharField(label=_("Why the plan is amended"), max_length=2000, widget=TEXT3)


class AgreeForm(LockedForm):
    """The coordinator records the family's answer: signed on paper, or why not obtained."""

    method = forms.ChoiceField(label=_("The family's agreement"), widget=forms.RadioSelect, choices=[
        (Agreement.PAPER, Agreement.PAPER.label), (Agreement.NOT_OBTAINED, Agreement.NOT_OBTAINED.label)])
    guardian = NameChoiceField(label=_("Signed by"), queryset=Guardian.objects.none(), required=False)
    agreed_on = forms.DateField(label=_("Date"), widget=DATE, required=False, help_text=_("Leave empty for today."))
    note = forms.CharField(label=_("Note, or the reason the agreement was not obtained"), required=False, widget=TEXT3)

    def __init__(self, *args, plan=None, guardians=(), **kwargs):
        super().__init__(*args, plan=plan, **kwargs)
        self.fields["guardian"].queryset = Guardian.objects.filter(pk__in=[g.pk for g in guardians])
        self._describe()


class ParentAgreeForm(LockedForm):
    confirm = forms.BooleanField(label=_("I have read the plan and I agree to it"))


class ParentChangesForm(LockedForm):
    reason = forms.CharField(label=_("What should change"), max_length=2000, widget=TEXT3)


class ReviewForm(LockedForm):
    held_on = forms.DateField(label=_("Held on"), widget=DATE)
    family_present = forms.BooleanField(label=_("The family took part"), required=False)
    summary = forms.CharField(label=_("Summary"), required=False, widget=TEXT3,
                              help_text=_("Required when the plan closes."))
    decision = forms.ChoiceField(label=_("Decision"), choices=ReviewDecision.choices, widget=forms.RadioSelect)
    next_review_on = forms.DateField(label=_("Next review"), widget=DATE, required=False,
                                     help_text=_("When the plan continues or is amended."))
    amendment_effective_from = forms.DateField(label=_("Amendment effective from"), widget=DATE, required=False,
                                               help_text=_("When the plan is amended; leave empty for today."))

    def __init__(self, *args, goals=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.goal_fields = []
        for goal in goals:
            rating = f"goal_{goal.pk}_rating"
            comment = f"goal_{goal.pk}_comment"
            self.fields[rating] = forms.ChoiceField(label=_("Progress: %(goal)s") % {"goal": goal}, choices=Progress.choices,
                                                    widget=forms.RadioSelect)
            self.fields[comment] = forms.CharField(label=_("Comment: %(goal)s") % {"goal": goal}, required=False,
                                                   widget=forms.Textarea(attrs={"rows": 2}))
            self.goal_fields.append((goal, rating, comment))
        self._describe()

    def progress(self) -> list[dict]:
        return [{"goal": goal, "rating": self.cleaned_data.get(r), "comment": self.cleaned_data.get(c, "")}
                for goal, r, c in self.goal_fields]
