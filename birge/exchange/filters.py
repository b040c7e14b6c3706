"""FilterSets shared by the exchange pages and the API (one FilterSet serves both)."""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from birge.learners import services as learner_services

from .models import ImportBatch, ImportedPerson, ImportSource, LinkState, MatchLink, OutreachCase, OutreachState, Purpose

YES_NO = [("1", _("Yes")), ("0", _("No"))]


def _name_search(queryset, value):
    """Any spelling (Cyrillic or Latin, either naming form) through the folded ``search_key``."""
    return learner_services.search(queryset, value)


class BatchFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=ImportBatch.Status.choices, empty_label=_("Any status"))
    source = django_filters.ModelChoiceFilter(label=_("Source"), queryset=ImportSource.objects.all(),
                                              empty_label=_("Any source"))
    purpose = django_filters.ChoiceFilter(label=_("Purpose"), choices=Purpose.choices, empty_label=_("Any purpose"))

    class Meta:
        model = ImportBatch
        fields = ["status", "source", "purpose"]


class PersonFilter(django_filters.FilterSet):
    link_state = django_filters.ChoiceFilter(label=_("Linkage"), choices=LinkState.choices, empty_label=_("Any"))
    problems = django_filters.ChoiceFilter(label=_("With problems"), choices=YES_NO, method="by_problems", empty_label=_("Any"))
    q = django_filters.CharFilter(label=_("Name"), method="search",
                                  help_text=_("Any spelling: Cyrillic or Latin, with or without ң ө ү."))
    batch = django_filters.NumberFilter(label=_("Batch (id)"), field_name="batch_id")

    class Meta:
        model = ImportedPerson
        fields = ["link_state", "problems", "q", "batch"]

    def __init__(self, data=None, *args, request=None, **kwargs):
        super().__init__(data, *args, request=request, **kwargs)
        self.form.fields["batch"].widget = forms.HiddenInput()

    def by_problems(self, queryset, name, value):
        return queryset.exclude(problems=[]) if value == "1" else queryset.filter(problems=[])

    def search(self, queryset, name, value):
        return _name_search(queryset, value)


class PairFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(label=_("State"), choices=MatchLink.State.choices,
                                                widget=forms.CheckboxSelectMultiple)
    reason = django_filters.ChoiceFilter(
        label=_("Why in review"), method="by_reason", empty_label=_("Any reason"),
        choices=[("different first names", _("Different first names")), ("different sex", _("Different sex")),
                 ("different valid PINs", _("Different valid PINs")),
                 ("a rival candidate scores almost as high", _("A rival candidate scores almost as high")),
                 ("left record linked to another", _("The learner is linked to another row")),
                 ("score", _("Score between the thresholds"))])
    batch = django_filters.NumberFilter(label=_("Batch (id)"), field_name="person__batch_id")
    q = django_filters.CharFilter(label=_("Name in the register"), method="search",
                                  help_text=_("Any spelling: Cyrillic or Latin, with or without ң ө ү."))

    class Meta:
        model = MatchLink
        fields = ["state", "reason", "batch", "q"]

    def __init__(self, data=None, *args, request=None, **kwargs):
        super().__init__(data, *args, request=request, **kwargs)
        self.form.fields["batch"].widget = forms.HiddenInput()

    def by_reason(self, queryset, name, value):
        return queryset.filter(reason="") if value == "score" else queryset.filter(reason=value)

    def search(self, queryset, name, value):
        return queryset.filter(person__in=_name_search(ImportedPerson.objects.all(), value).values("pk"))


class CaseFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(label=_("State"), choices=OutreachState.choices,
                                                widget=forms.CheckboxSelectMultiple)
    open = django_filters.ChoiceFilter(label=_("Open"), choices=YES_NO, method="by_open", empty_label=_("Any"))
    ground = django_filters.ChoiceFilter(label=_("Found because of"), choices=OutreachCase.Ground.choices,
                                         empty_label=_("Any"))
    q = django_filters.CharFilter(label=_("Child's name"), method="search",
                                  help_text=_("Any spelling: Cyrillic or Latin, with or without ң ө ү."))

    class Meta:
        model = OutreachCase
        fields = ["state", "open", "ground", "q"]

    def by_open(self, queryset, name, value):
        from .models import OPEN_OUTREACH_STATES

        states = [s.value for s in OPEN_OUTREACH_STATES]
        return queryset.filter(state__in=states) if value == "1" else queryset.exclude(state__in=states)

    def search(self, queryset, name, value):
        from birge.learners.models import Learner

        return queryset.filter(learner__in=_name_search(Learner.objects.all(), value).values("pk"))
