"""FilterSets shared by the support pages and the API."""

import django_filters
from django.utils.translation import gettext_lazy as _

from birge.core.models import Organization
from birge.core.roles import EDUCATION_KINDS
from birge.learners.filters import OrganizationFilter, organizations_for

from .models import Handover, ServiceSession


class SessionFilter(django_filters.FilterSet):
    learner = django_filters.NumberFilter(label=_("Learner (id)"), field_name="learner_id")
    organization = OrganizationFilter(label=_("Organization"), queryset=Organization.objects.filter(kind__in=EDUCATION_KINDS),
                                      empty_label=_("Any organization"))
    plan_service = django_filters.NumberFilter(label=_("Planned service (id)"), field_name="plan_service_id")
    date_from = django_filters.DateFilter(label=_("From"), field_name="held_on", lookup_expr="gte")
    date_to = django_filters.DateFilter(label=_("To"), field_name="held_on", lookup_expr="lte")
    attendance = django_filters.ChoiceFilter(label=_("Held or missed"), choices=ServiceSession.Attendance.choices,
                                             empty_label=_("Any"))
    mine = django_filters.BooleanFilter(label=_("Only the sessions I logged"), method="only_mine")
    withdrawn = django_filters.BooleanFilter(label=_("Withdrawn entries"), field_name="withdrawn_at", lookup_expr="isnull",
                                             exclude=True)

    class Meta:
        model = ServiceSession
        fields = ["learner", "organization", "plan_service", "date_from", "date_to", "attendance", "mine", "withdrawn"]

    def __init__(self, data=None, *args, request=None, **kwargs):
        super().__init__(data, *args, request=request, **kwargs)
        if request is not None and request.user.is_authenticated:
            self.filters["organization"].queryset = organizations_for(request.user)
        for name in ("date_from", "date_to"):
            self.form.fields[name].widget.input_type = "date"

    def only_mine(self, queryset, name, value):
        if value and self.request is not None:
            return queryset.filter(provider=self.request.user)
        return queryset


class HandoverFilter(django_filters.FilterSet):
    learner = django_filters.NumberFilter(field_name="learner_id")
    to_organization = django_filters.NumberFilter(field_name="to_organization_id")
    from_organization = django_filters.NumberFilter(field_name="from_organization_id")

    class Meta:
        model = Handover
        fields = ["learner", "to_organization", "from_organization"]
