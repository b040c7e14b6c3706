from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from birge.core.forms import Form
from birge.core.models import Organization
from birge.learners.models import Learner
from birge.plans.forms import DATE, TEXT3, apply_errors  # noqa: F401  (re-exported for the views)

from .delivery import GROUPS
from .models import ServiceSession


class ServiceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return _("%(learner)s — %(service)s (%(minutes)s min/week)") % {
            "learner": obj.plan.learner.full_name, "service": obj.catalogue, "minutes": obj.minutes_per_week or "—"}


class SessionForm(Form):
    plan_service = ServiceChoiceField(label=_("Learner and service"), queryset=None, empty_label=None,
                                      help_text=_("Only the services that learners' plans in force give you."))
    held_on = forms.DateField(label=_("Date"), widget=DATE)
    minutes = forms.IntegerField(label=_("Minutes"), min_value=1, max_value=480)
    setting = forms.ChoiceField(label=_("Individual or group"), choices=ServiceSession.Setting.choices,
                                widget=forms.RadioSelect, initial=ServiceSession.Setting.INDIVIDUAL)
    attendance = forms.ChoiceField(label=_("Held or missed"), choices=ServiceSession.Attendance.choices,
                                   widget=forms.RadioSelect, initial=ServiceSession.Attendance.ATTENDED)
    missed_reason = forms.ChoiceField(label=_("Reason missed"), required=False,
                                      choices=[("", _("— not missed —")), *ServiceSession.MissedReason.choices])
    note = forms.CharField(label=_("Note"), required=False, widget=TEXT3)

    def __init__(self, *args, services=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan_service"].queryset = services
        self.initial.setdefault("held_on", timezone.localdate())
        self._describe()


class WithdrawForm(Form):
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=TEXT3)


class DeliveryForm(Form):
    group = forms.ChoiceField(label=_("Per"), choices=[(k, v[0]) for k, v in GROUPS.items()], initial="learner",
                              required=False)
    date_from = forms.DateField(label=_("From"), widget=DATE, required=False)
    date_to = forms.DateField(label=_("To"), widget=DATE, required=False)
    organization = forms.ModelChoiceField(label=_("Organization"), queryset=Organization.objects.none(), required=False,
                                          empty_label=_("Any organization"))

    def __init__(self, *args, organizations=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organizations is not None:
            self.fields["organization"].queryset = organizations
        self._describe()

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        data["group"] = data.get("group") or "learner"
        data["date_to"] = data.get("date_to") or today
        data["date_from"] = data.get("date_from") or data["date_to"].replace(day=1)
        if data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end date is before the start date."))
        elif (data["date_to"] - data["date_from"]) > dt.timedelta(days=366):
            self.add_error("date_from", _("Choose a period of at most a year."))
        return data


class HandoverForm(Form):
    learner = forms.ModelChoiceField(label=_("Learner"), queryset=Learner.objects.none())
    to_organization = forms.ModelChoiceField(label=_("Receiving organization"), queryset=Organization.objects.none())

    def __init__(self, *args, learners=None, organizations=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["learner"].queryset = learners
        self.fields["learner"].label_from_instance = lambda lr: f"{lr.full_name} ({lr.birth_date:%Y-%m-%d})"
        self.fields["to_organization"].queryset = organizations
        self.fields["to_organization"].label_from_instance = lambda o: f"{o} — {o.territory.name}"
        self._describe()

