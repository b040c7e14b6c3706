"""Pages of services delivered, planned versus delivered, and handovers."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import ListView

from birge.core import access
from birge.core.access import Rec
from birge.core.models import Organization
from birge.core.roles import EDUCATION_KINDS
from birge.learners.filters import organizations_for
from birge.learners.models import Enrolment, FormOfEducation, Learner, Programme
from birge.plans import services as plan_services
from birge.plans.models import GoalArea

from . import delivery, forms, services
from .filters import HandoverFilter, SessionFilter
from .models import Handover, ServiceSession


def _query_without_page(request) -> str:
    q = request.GET.copy()
    q.pop("page", None)
    return q.urlencode()


def _page(request, *, title, form, perform, success, back, intro="", submit=None, danger=False, cancel=None):
    if request.method == "POST" and form.is_valid():
        try:
            result = perform(form.cleaned_data)
        except ValidationError as exc:
            forms.apply_errors(form, exc)
        except PermissionDenied:
            raise Http404 from None
        else:
            messages.success(request, success)
            return redirect(back(result) if callable(back) else back)
    return render(request, "support/form_page.html", {"title": title, "form": form, "intro": intro, "submit": submit or title,
                                                      "danger": danger, "cancel": cancel or reverse("support:index")})


@login_required
def index(request):
    """The provider's own services: learners, planned minutes, delivered this week, sessions to log."""
    user = request.user
    if not access.can(user, "read", Rec.SERVICE):
        raise Http404
    given = list(services.services_given_by(user).order_by("plan__learner__last_name", "plan__learner__first_name"))
    week_from, week_to = services.window()
    delivered = services.sessions_since([s.pk for s in given], week_from)
    last = services.last_sessions([s.pk for s in given])
    rows = [{"service": s, "delivered": delivered.get(s.pk, 0), "last": last.get(s.pk),
             "to_log": last.get(s.pk) is None or last.get(s.pk) < week_from} for s in given]
    recent = ServiceSession.objects.visible_to(user).filter(provider=user).select_related(
        "learner", "plan_service__catalogue")[:20]
    return render(request, "support/index.html", {"rows": rows, "recent": recent, "week_from": week_from})


class SessionList(LoginRequiredMixin, ListView):
    template_name = "support/session_list.html"
    paginate_by = 50

    def get_queryset(self):
        if not access.can(self.request.user, "read", Rec.SERVICE):
            raise Http404
        base = ServiceSession.objects.visible_to(self.request.user).select_related(
            "learner", "organization", "provider", "plan_service__catalogue")
        self.filterset = SessionFilter(self.request.GET or {}, queryset=base, request=self.request)
        return (self.filterset.qs if self.filterset.is_valid() else base.none()).order_by("-held_on", "-id")

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx.update(filter=self.filterset, query_string=_query_without_page(self.request))
        return ctx


@login_required
def session_log(request):
    given = services.services_given_by(request.user).order_by("plan__learner__last_name", "catalogue__position")
    if not given.exists():
        messages.error(request, _("No learner's plan in force gives you a service, so there is no session to log."))
        return redirect("support:index")
    initial = {}
    if request.GET.get("service", "").isdigit():
        initial["plan_service"] = int(request.GET["service"])
    form = forms.SessionForm(request.POST or None, services=given, initial=initial)

    def perform(d):
        ps = d["plan_service"]
        return services.log_session(request.user, learner=ps.plan.learner, plan_service=ps, held_on=d["held_on"],
                                    minutes=d["minutes"], setting=d["setting"], attendance=d["attendance"],
                                    missed_reason=d["missed_reason"], note=d["note"])

    return _page(request, title=_("Log a session"), form=form, perform=perform, success=_("The session was logged."),
                 back=reverse("support:index"), submit=_("Log the session"))


@login_required
def session_withdraw(request, pk):
    session = access.get_visible_or_404(request.user, ServiceSession.objects.select_related("learner", "plan_service__catalogue"),
                                        pk=pk)
    if session.provider_id != request.user.pk and not plan_services.is_coordinator(request.user, session.organization_id):
        raise Http404
    form = forms.WithdrawForm(request.POST or None)
    return _page(request, title=_("Withdraw a session entry"), form=form, danger=True, submit=_("Withdraw"),
                 intro=str(session), perform=lambda d: services.withdraw_session(request.user, session, reason=d["reason"]),
                 success=_("The entry was withdrawn."), back=reverse("support:sessions"))


@login_required
def delivery_page(request):
    user = request.user
    if not access.can(user, "read", Rec.SERVICE):
        raise Http404
    form = forms.DeliveryForm(request.GET or None, organizations=organizations_for(user))
    rows, total, period = [], None, None
    if form.is_valid() or not request.GET:
        data = form.cleaned_data if form.is_bound else {}
        today = timezone.localdate()
        date_to = data.get("date_to") or today
        date_from = data.get("date_from") or date_to.replace(day=1)
        group = data.get("group") or "learner"
        rows = delivery.planned_vs_delivered(user, date_from=date_from, date_to=date_to, group=group,
                                             organization=data.get("organization"))
        total, period = delivery.totals(rows), (date_from, date_to, delivery.GROUPS[group][0])
    return render(request, "support/delivery.html", {"form": form, "rows": rows, "total": total, "period": period})


# --- handovers -------------------------------------------------------------------------------------------


class HandoverList(LoginRequiredMixin, ListView):
    template_name = "support/handover_list.html"
    paginate_by = 50

    def get_queryset(self):
        if not access.can(self.request.user, "read", Rec.PLAN):
            raise Http404
        base = Handover.objects.visible_to(self.request.user).select_related("learner", "from_organization", "to_organization")
        self.filterset = HandoverFilter(self.request.GET or {}, queryset=base)
        return (self.filterset.qs if self.filterset.is_valid() else base.none()).order_by("-created_at")

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx.update(query_string=_query_without_page(self.request),
                   can_create=bool(plan_services.coordinator_organizations(self.request.user)))
        return ctx


@login_required
def handover_create(request):
    orgs = plan_services.coordinator_organizations(request.user)
    if not orgs:
        raise Http404
    enrolled = Enrolment.objects.filter(organization_id__in=orgs).values("learner_id")
    learners = Learner.objects.visible_to(request.user).filter(pk__in=enrolled, archived_at__isnull=True).order_by(
        "last_name", "first_name")
    organizations = Organization.objects.filter(kind__in=EDUCATION_KINDS, is_active=True).select_related("territory").order_by("name")
    initial = {}
    if request.GET.get("learner", "").isdigit():
        initial["learner"] = int(request.GET["learner"])
    form = forms.HandoverForm(request.POST or None, learners=learners, organizations=organizations, initial=initial)

    def perform(d):
        own = [o for o in orgs if o != d["to_organization"].pk]
        from_org = None
        if d["to_organization"].pk not in orgs and own:
            from_org = Organization.objects.filter(pk__in=own, enrolments__learner=d["learner"]).first()
        return services.hand_over(request.user, d["learner"], to_organization=d["to_organization"], from_organization=from_org)

    return _page(request, title=_("Hand over to the receiving organization"), form=form, perform=perform,
                 submit=_("Hand over"), success=_("The handover was made."),
                 back=lambda h: reverse("support:handover", args=[h.pk]), cancel=reverse("support:handovers"),
                 intro=_("Only with the family's handover consent to the receiving organization (consent register). "
                         "The receiving organization gets a summary — the current conclusion, the plan, services, devices "
                         "and accommodations — and the plan continues there as a new version. Without the consent "
                         "nothing is handed over."))


@login_required
def handover_detail(request, pk):
    handover = access.get_visible_or_404(
        request.user, Handover.objects.select_related("learner", "from_organization", "to_organization", "to_plan", "consent"),
        pk=pk)
    lang = (request.LANGUAGE_CODE or "ky")[:2]
    summary = handover.summary or {}
    for key in ("services", "devices", "accommodations"):
        for item in summary.get(key, []):
            item["name"] = item.get(lang) or item.get("ky") or ""
    conclusion = summary.get("conclusion") or {}
    for item in conclusion.get("recommendations", []):
        item["name"] = item.get(lang) or item.get("ky")
    labels = {**dict(Programme.choices), **dict(FormOfEducation.choices), **dict(GoalArea.choices)}
    for part in (conclusion, summary.get("plan") or {}):
        for key in ("programme", "recommended_form", "form"):
            if part.get(key):
                part[f"{key}_label"] = labels.get(part[key], part[key])
    for goal in (summary.get("plan") or {}).get("goals", []):
        goal["area_label"] = labels.get(goal.get("area"), goal.get("area"))
    to_plan_visible = handover.to_plan_id and plan_services.IndividualPlan.objects.visible_to(request.user).filter(
        pk=handover.to_plan_id).exists()
    return render(request, "support/handover_detail.html", {"handover": handover, "summary": summary,
                                                            "to_plan_visible": to_plan_visible})
