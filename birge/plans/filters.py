"""FilterSets shared by the plan pages and the API."""

import django_filters
from django.utils.translation import gettext_lazy as _

from birge.core.models import Organization
from birge.core.roles import EDUCATION_KINDS
from birge.learners import services as learner_services
from birge.learners.filters import OrganizationFilter, organizations_for

from .models import GoalArea, IndividualPlan, PlanState

CURRENT = "current"


class PlanFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Learner's name"), method="search",
                                  help_text=_("Any spelling, Cyrillic or Latin."))
    state = django_filters.ChoiceFilter(label=_("State"), method="by_state", empty_label=None,
                                        choices=[(CURRENT, _("Current (not closed or replaced)")), *PlanState.choices,
                                                 ("all", _("All versions"))])
    organization = OrganizationFilter(label=_("Organization"), queryset=Organization.objects.filter(kind__in=EDUCATION_KINDS),
                                      empty_label=_("Any organization"))
    learner = django_filters.NumberFilter(label=_("Learner (id)"), field_name="learner_id")
    review_before = django_filters.DateFilter(label=_("Review due by"), field_name="review_on", lookup_expr="lte")

    class Meta:
        model = IndividualPlan
        fields = ["q", "state", "organization", "learner", "review_before"]

    def __init__(self, data=None, *args, request=None, **kwargs):
        if data is not None and not data.get("state"):
            data = data.copy()
            data["state"] = CURRENT
        super().__init__(data, *args, request=request, **kwargs)
        if request is not None and request.user.is_authenticated:
            self.filters["organization"].queryset = organizations_for(request.user)
        self.form.fields["review_before"].widget.input_type = "date"

    def search(self, queryset, name, value):
        from birge.learners.models import Learner

        return queryset.filter(learner__in=learner_services.search(Learner.objects.all(), value).values("pk"))

    def by_state(self, queryset, name, value):
        if value == CURRENT:
            return queryset.exclude(state__in=[PlanState.CLOSED, PlanState.SUPERSEDED])
        if value == "all":
            return queryset
        return queryset.filter(state=value)


class GoalFilter(django_filters.FilterSet):
    plan = django_filters.NumberFilter(field_name="plan_id")
    area = django_filters.ChoiceFilter(choices=GoalArea.choices)

    class Meta:
        model = IndividualPlan.goals.rel.related_model
        fields = ["plan", "area"]
