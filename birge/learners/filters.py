"""FilterSets shared by the pages and the API (one FilterSet serves both)."""

import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _, pgettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from birge.core import access, names
from birge.core.models import Organization
from birge.core.roles import EDUCATION_KINDS, Jurisdiction

from . import services
from .models import (
    Assignment, Consent, Diagnosis, DisabilityStatus, Enrolment, FormOfEducation, Guardian, GuardianLink, Learner, Level,
)


def organizations_for(user):
    """Education organizations worth offering a user in a filter: where they work, or within their territory."""
    org_ids, prefixes, national = [], [], False
    for grant in access.grants(user):
        if grant.reach == Jurisdiction.NATIONAL:
            national = True
        elif grant.reach == Jurisdiction.TERRITORY and grant.territory_prefix:
            prefixes.append(grant.territory_prefix)
        elif grant.organization_id:
            org_ids.append(grant.organization_id)
    qs = Organization.objects.filter(kind__in=EDUCATION_KINDS)
    if national:
        return qs.order_by("name")
    q = Q(pk__in=org_ids)
    for prefix in prefixes:
        q |= Q(territory__code__startswith=prefix)
    return qs.filter(q).order_by("name")


@extend_schema_field(OpenApiTypes.INT)
class OrganizationFilter(django_filters.ModelChoiceFilter):
    """An organization id (the page offers the organizations near the user)."""


class LearnerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Name or PIN"), method="search",
        help_text=_("Any spelling: Cyrillic or Latin, with or without ң ө ү, either naming form, or the start of a name or PIN."),
    )
    organization = OrganizationFilter(
        label=_("Enrolled at"), queryset=Organization.objects.filter(kind__in=EDUCATION_KINDS), method="by_enrolment",
        empty_label=_("Any organization"),
    )
    level = django_filters.ChoiceFilter(label=_("Level"), choices=Level.choices, method="by_enrolment", empty_label=_("Any level"))
    form = django_filters.ChoiceFilter(label=_("Form of education"), choices=FormOfEducation.choices, method="by_enrolment",
                                       empty_label=_("Any form"))
    birth_date = django_filters.DateFilter(label=_("Birth date"), field_name="birth_date")
    archived = django_filters.ChoiceFilter(
        label=_("Records"), method="by_archive", empty_label=None,
        choices=[("no", _("Current")), ("yes", _("Archived")), ("all", _("All"))],
    )

    class Meta:
        model = Learner
        fields = ["q", "organization", "level", "form", "birth_date", "archived"]

    def __init__(self, data=None, *args, request=None, **kwargs):
        if data is not None and not data.get("archived"):
            data = data.copy()
            data["archived"] = "no"
        super().__init__(data, *args, request=request, **kwargs)
        if request is not None and request.user.is_authenticated:
            self.filters["organization"].queryset = organizations_for(request.user)
        self.form.fields["birth_date"].widget.input_type = "date"

    def search(self, queryset, name, value):
        return services.search(queryset, value)

    def by_enrolment(self, queryset, name, value):
        return queryset  # combined in filter_queryset: one enrolment must match all three

    def by_archive(self, queryset, name, value):
        if value == "yes":
            return queryset.filter(archived_at__isnull=False)
        if value == "all":
            return queryset
        return queryset.filter(archived_at__isnull=True)

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        lookups = {}
        if data.get("organization"):
            lookups["organization"] = data["organization"]
        if data.get("level"):
            lookups["level"] = data["level"]
        if data.get("form"):
            lookups["form"] = data["form"]
        if lookups:
            enrolled = Enrolment.objects.filter(status=Enrolment.Status.ACTIVE, **lookups).values("learner_id")
            queryset = queryset.filter(pk__in=enrolled)
        return queryset


def _current(queryset, value, start="starts_on", end="ends_on"):
    today = timezone.localdate()
    current = Q(**{f"{start}__lte": today}) & (Q(**{f"{end}__isnull": True}) | Q(**{f"{end}__gt": today}))
    return queryset.filter(current) if value else queryset.exclude(current)


class GuardianFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Name"), method="search")
    learner = django_filters.NumberFilter(field_name="links__learner", label=_("Learner"), distinct=True)
    has_account = django_filters.BooleanFilter(field_name="user", lookup_expr="isnull", exclude=True, label=_("Has a user account"))

    class Meta:
        model = Guardian
        fields = ["q", "learner", "has_account"]

    def search(self, queryset, name, value):
        for term in names.search_terms(value):
            queryset = queryset.filter(search_key__contains=term)
        return queryset


class GuardianLinkFilter(django_filters.FilterSet):
    current = django_filters.BooleanFilter(method="by_current", label=_("Current"))

    class Meta:
        model = GuardianLink
        fields = ["learner", "guardian", "relation", "is_legal_representative", "current"]

    def by_current(self, queryset, name, value):
        return _current(queryset, value)


class ConsentFilter(django_filters.FilterSet):
    active = django_filters.BooleanFilter(method="by_active", label=_("Active"))
    recipient = django_filters.CharFilter(field_name="recipient__code", label=_("Recipient organization code"))

    class Meta:
        model = Consent
        fields = ["learner", "purpose", "method", "recipient", "active"]

    def by_active(self, queryset, name, value):
        today = timezone.localdate()
        active = Q(withdrawn_at__isnull=True) & (Q(valid_until__isnull=True) | Q(valid_until__gte=today))
        return queryset.filter(active) if value else queryset.exclude(active)


class DisabilityFilter(django_filters.FilterSet):
    open = django_filters.BooleanFilter(field_name="closed_at", lookup_expr="isnull", label=pgettext_lazy("state: not closed", "Open"))

    class Meta:
        model = DisabilityStatus
        fields = ["learner", "category", "indefinite", "open"]


class DiagnosisFilter(django_filters.FilterSet):
    withdrawn = django_filters.BooleanFilter(field_name="withdrawn_at", lookup_expr="isnull", exclude=True, label=_("Withdrawn"))

    class Meta:
        model = Diagnosis
        fields = ["learner", "code", "withdrawn"]


class EnrolmentFilter(django_filters.FilterSet):
    organization = django_filters.CharFilter(field_name="organization__code", label=_("Organization code"))

    class Meta:
        model = Enrolment
        fields = ["learner", "organization", "level", "status", "form", "programme", "with_tutor"]


class AssignmentFilter(django_filters.FilterSet):
    user = django_filters.CharFilter(field_name="user__username", label=_("Username of the staff member"))
    current = django_filters.BooleanFilter(method="by_current", label=_("Current"))

    class Meta:
        model = Assignment
        fields = ["learner", "user", "kind", "current"]

    def by_current(self, queryset, name, value):
        return _current(queryset, value)
