"""The FilterSet of screenings, shared by the learner's screening list and the API."""

import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from . import engine
from .models import Screening, Status


def instrument_choices():
    return [(i.code, str(i.title)) for i in engine.all_instruments()]


class ScreeningFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Status.choices, empty_label=_("Any status"))
    instrument = django_filters.ChoiceFilter(label=_("Questionnaire"), choices=instrument_choices,
                                             empty_label=_("Any questionnaire"))
    result = django_filters.ChoiceFilter(
        label=_("Functional difficulty"), method="by_result", empty_label=_("Any result"),
        choices=[("yes", _("Yes")), ("no", _("No")), ("indeterminate", _("Indeterminate"))],
        help_text=_("Of completed screenings."),
    )
    interview_from = django_filters.DateFilter(label=_("Interviewed from"), field_name="interview_date", lookup_expr="gte")
    interview_to = django_filters.DateFilter(label=_("Interviewed until"), field_name="interview_date", lookup_expr="lte")

    class Meta:
        model = Screening
        fields = ["status", "instrument", "result", "interview_from", "interview_to"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        for name in ("interview_from", "interview_to"):  # a native date picker; its value is always ISO
            self.form.fields[name].widget.input_type = "date"
            self.form.fields[name].widget.format = "%Y-%m-%d"

    def by_result(self, queryset, name, value):
        flag = {"yes": True, "no": False}.get(value)
        queryset = queryset.filter(status=Status.COMPLETE)
        if value == "indeterminate":
            return queryset.filter(functional_difficulty__isnull=True)
        return queryset.filter(functional_difficulty=flag)


@extend_schema_field(OpenApiTypes.INT)
class LearnerIdFilter(django_filters.NumberFilter):
    """A learner id."""


class ScreeningApiFilter(ScreeningFilter):
    """The same filters, and the learner (the page is already one learner's)."""

    learner = LearnerIdFilter(label=_("Learner"), field_name="learner_id")

    class Meta(ScreeningFilter.Meta):
        fields = ["learner", *ScreeningFilter.Meta.fields]
