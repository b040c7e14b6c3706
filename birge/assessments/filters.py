"""FilterSets shared by the pages and the API."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from birge.core import names

from .models import AssessmentSession, CatalogueItem, Conclusion, Release


class LearnerNameMixin(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Child's name"), method="by_name",
                                  help_text=_("Any spelling: Cyrillic or Latin, with or without ң ө ү."))

    def by_name(self, qs, name, value):
        terms = names.search_terms(value)
        if not terms:
            return qs
        q = Q()
        for term in terms:
            q &= Q(learner__search_key__contains=term)
        return qs.filter(q)


class SessionFilter(LearnerNameMixin):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=AssessmentSession.Status.choices, empty_label=_("Any status"))
    date_from = django_filters.DateFilter(label=_("From"), field_name="scheduled_at", lookup_expr="date__gte")
    date_to = django_filters.DateFilter(label=_("To"), field_name="scheduled_at", lookup_expr="date__lte")

    class Meta:
        model = AssessmentSession
        fields = ["status", "learner", "referral"]


class ConclusionFilter(LearnerNameMixin):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Conclusion.Status.choices, empty_label=_("Any status"))

    class Meta:
        model = Conclusion
        fields = ["status", "learner", "session", "referral"]


class ReleaseFilter(django_filters.FilterSet):
    active = django_filters.BooleanFilter(label=_("Not revoked"), field_name="revoked_at", lookup_expr="isnull")

    class Meta:
        model = Release
        fields = ["conclusion", "organization", "active"]


class CatalogueFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=CatalogueItem.Kind.choices)

    class Meta:
        model = CatalogueItem
        fields = ["kind", "is_active", "code"]
