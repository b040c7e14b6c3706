"""FilterSets shared by the pages and the API (one FilterSet serves both)."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from birge.core import access
from birge.core.deadline_models import Clock, Deadline, Notification

from .models import Attachment, Concern, Observation, Referral, State


def with_clocks(qs):
    """Annotate each referral with its nearest open clock: ``due_on`` and ``due_clock``."""
    open_clocks = Deadline.objects.filter(
        content_type=ContentType.objects.get_for_model(Referral), object_id=OuterRef("pk"),
        met_at__isnull=True, cancelled_at__isnull=True,
    ).order_by("due_on")
    return qs.annotate(due_on=Subquery(open_clocks.values("due_on")[:1]), due_clock=Subquery(open_clocks.values("clock")[:1]))


def mark_due(referrals, today=None):
    """Set ``due_status`` (overdue · due-soon · open · '') and ``due_days`` on annotated referrals."""
    today = today or timezone.localdate()
    items = list(referrals)
    for r in items:
        due = getattr(r, "due_on", None)
        if due is None:
            r.due_status, r.due_days = "", 0
        elif due < today:
            r.due_status, r.due_days = "overdue", (today - due).days
        elif (due - today).days <= settings.BIRGE_DUE_SOON_DAYS:
            r.due_status, r.due_days = "due-soon", (due - today).days
        else:
            r.due_status, r.due_days = "open", (due - today).days
    return items


def queue_order(qs):
    """Overdue first (the earliest due day first), then the oldest submitted."""
    return qs.order_by(F("due_on").asc(nulls_last=True), F("submitted_at").asc(nulls_last=True), "-created_at", "pk")


YES_NO = [("1", _("Yes")), ("0", _("No"))]


class ReferralFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(label=_("State"), choices=State.choices, widget=forms.CheckboxSelectMultiple)
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=Referral.Kind.choices, empty_label=_("Any kind"))
    queue = django_filters.ChoiceFilter(
        label=_("Whose"), method="by_queue", empty_label=_("All I can see"),
        choices=[("received", _("Received by my organization")), ("made", _("Made by my organization or by me"))],
    )
    overdue = django_filters.ChoiceFilter(label=_("Overdue"), method="by_overdue", choices=YES_NO, empty_label=_("Any"))
    q = django_filters.CharFilter(label=_("Child's name"), method="search",
                                  help_text=_("Any spelling: Cyrillic or Latin, with or without ң ө ү."))
    learner = django_filters.NumberFilter(label=_("Learner (id)"), field_name="learner_id")

    class Meta:
        model = Referral
        fields = ["state", "kind", "queue", "overdue", "q", "learner"]

    def __init__(self, data=None, *args, request=None, **kwargs):
        super().__init__(data, *args, request=request, **kwargs)
        self.form.fields["learner"].widget = forms.HiddenInput()

    def by_queue(self, queryset, name, value):
        user = self.request.user if self.request else None
        org_ids = access.grant_organizations(user) if user else []
        if value == "received":
            return queryset.filter(receiving_organization_id__in=org_ids).exclude(state=State.DRAFT)
        if value == "made":
            return queryset.filter(Q(referring_organization_id__in=org_ids) | Q(created_by=user))
        return queryset

    def by_overdue(self, queryset, name, value):
        today = timezone.localdate()
        if "due_on" not in queryset.query.annotations:
            queryset = with_clocks(queryset)
        if value == "1":
            return queryset.filter(due_on__lt=today)
        if value == "0":
            return queryset.filter(Q(due_on__isnull=True) | Q(due_on__gte=today))
        return queryset

    def search(self, queryset, name, value):
        from birge.learners import services as learner_services
        from birge.learners.models import Learner

        # Any spelling, either naming form (the learners' search); only a PIN prefix is not offered here.
        if not (value or "").strip() or value.replace(" ", "").isdigit():
            return queryset
        return queryset.filter(learner_id__in=learner_services.search(Learner.objects.all(), value).values("pk"))


class ConcernFilter(django_filters.FilterSet):
    reporter = django_filters.ChoiceFilter(label=_("Noticed by"), choices=Concern.Reporter.choices, empty_label=_("Anyone"))
    noticed_after = django_filters.DateFilter(label=_("Noticed from"), field_name="noticed_on", lookup_expr="gte")
    noticed_before = django_filters.DateFilter(label=_("Noticed until"), field_name="noticed_on", lookup_expr="lte")
    learner = django_filters.NumberFilter(label=_("Learner (id)"), field_name="learner_id")

    class Meta:
        model = Concern
        fields = ["reporter", "noticed_after", "noticed_before", "learner"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("noticed_after", "noticed_before"):
            self.form.fields[name].widget.input_type = "date"
        self.form.fields["learner"].widget = forms.HiddenInput()


class ObservationFilter(django_filters.FilterSet):
    referral = django_filters.NumberFilter(label=_("Referral (id)"), field_name="referral_id")

    class Meta:
        model = Observation
        fields = ["referral", "domain"]


class AttachmentFilter(django_filters.FilterSet):
    referral = django_filters.NumberFilter(label=_("Referral (id)"), field_name="referral_id")

    class Meta:
        model = Attachment
        fields = ["referral"]


DEADLINE_STATUS = [("attention", _("Overdue and due soon")), ("overdue", _("Overdue")), ("due-soon", _("Due soon")),
                   ("open", _("All running")), ("closed", _("Met or cancelled"))]


class DeadlineFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=DEADLINE_STATUS, method="by_status",
                                         empty_label=_("Any"))
    overdue = django_filters.ChoiceFilter(label=_("Overdue"), choices=YES_NO, method="by_overdue", empty_label=_("Any"))
    clock = django_filters.ChoiceFilter(label=_("Kind of work"), choices=Clock.choices, empty_label=_("Any kind"))
    mine = django_filters.ChoiceFilter(
        label=_("Whose"), method="by_owner", empty_label=_("All I can see"),
        choices=[("owned", _("Work my organization or I must do")), ("waiting", _("Work I am waiting for"))],
    )

    class Meta:
        model = Deadline
        fields = ["status", "overdue", "clock", "mine"]

    def by_status(self, queryset, name, value):
        if value == "attention":
            horizon = timezone.localdate() + dt.timedelta(days=settings.BIRGE_DUE_SOON_DAYS)
            return queryset.open().filter(due_on__lte=horizon)
        if value == "overdue":
            return queryset.overdue()
        if value == "due-soon":
            return queryset.due_soon()
        if value == "open":
            return queryset.open()
        if value == "closed":
            return queryset.filter(Q(met_at__isnull=False) | Q(cancelled_at__isnull=False))
        return queryset

    def by_overdue(self, queryset, name, value):
        if value == "1":
            return queryset.overdue()
        if value == "0":
            return queryset.exclude(met_at__isnull=True, cancelled_at__isnull=True, due_on__lt=timezone.localdate())
        return queryset

    def by_owner(self, queryset, name, value):
        user = self.request.user if self.request else None
        org_ids = access.grant_organizations(user) if user else []
        if value == "owned":
            return queryset.filter(Q(owner_organization_id__in=org_ids) | Q(owner_user=user))
        if value == "waiting":
            return queryset.filter(Q(waiting_organization_id__in=org_ids) | Q(waiting_user=user))
        return queryset


class NotificationFilter(django_filters.FilterSet):
    unread = django_filters.ChoiceFilter(label=_("Unread only"), choices=YES_NO, method="by_unread", empty_label=_("Any"))

    class Meta:
        model = Notification
        fields = ["unread"]

    def by_unread(self, queryset, name, value):
        if value == "1":
            return queryset.filter(read_at__isnull=True)
        if value == "0":
            return queryset.filter(read_at__isnull=False)
        return queryset

