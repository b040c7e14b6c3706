"""Pages of individual education plans. Records come through the access policy (out of reach is 404);
every change goes through ``services``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.conf import settings
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import ListView

from birge.core import access, documents
from birge.core.access import Rec
from birge.learners.models import Enrolment, Learner

from . import forms, services
from .filters import PlanFilter
from .models import (
    Agreement, GoalProgress, IndividualPlan, PlanAccommodation, PlanGoal, PlanMember, PlanReview, PlanService, PlanState,
)


def _plans(user):
    return IndividualPlan.objects.visible_to(user).select_related(
        "learner", "organization", "conclusion", "tutor", "agreed_by", "previous")


def _plan(request, pk) -> IndividualPlan:
    return access.get_visible_or_404(request.user, _plans(request.user), pk=pk)


def _part(request, model, pk):
    obj = access.get_visible_or_404(request.user, model.objects.select_related("plan"), pk=pk)
    return obj, obj.plan


def _only(allowed: bool) -> None:
    """Action pages answer 404 to those who may read the plan but not take the action."""
    if not allowed:
        raise Http404


def _coordinator(request, plan):
    _only(services.may_manage(request.user, plan))


def _team(request, plan):
    _only(services.may_manage(request.user, plan) or services.is_assigned(request.user, plan))


def _query_without_page(request) -> str:
    q = request.GET.copy()
    q.pop("page", None)
    return q.urlencode()


def plan_url(plan, anchor=""):
    return reverse("plans:detail", args=[plan.pk]) + (f"#{anchor}" if anchor else "")


def _form_page(request, plan, *, title, form, perform, success, anchor="", intro="", submit=None, danger=False,
               back=None, aliases=None):
    """Show the form; on a valid POST call the service; show its errors on the form (nothing half-saved)."""
    if request.method == "POST" and form.is_valid():
        try:
            result = perform(form.cleaned_data)
        except ValidationError as exc:
            forms.apply_errors(form, exc, aliases)
        except PermissionDenied:
            raise Http404 from None
        else:
            messages.success(request, success)
            target = back(result) if callable(back) else (back or plan_url(plan, anchor))
            return redirect(target)
    return render(request, "plans/form_page.html", {
        "title": title, "form": form, "plan": plan, "intro": intro, "submit": submit or title, "danger": danger,
        "cancel": plan_url(plan, anchor) if plan else reverse("plans:list")})


def _locked(data) -> dict:
    data = dict(data)
    return {"lock_version": data.pop("lock_version"), **data}


# --- list and create ---------------------------------------------------------------------------------------


class PlanList(LoginRequiredMixin, ListView):
    template_name = "plans/plan_list.html"
    paginate_by = 50

    def get_queryset(self):
        if not access.can(self.request.user, "read", Rec.PLAN):
            raise Http404
        base = _plans(self.request.user)
        self.filterset = PlanFilter(self.request.GET or {}, queryset=base, request=self.request)
        qs = self.filterset.qs if self.filterset.is_valid() else base.none()
        return qs.order_by("review_on", "learner__last_name", "learner__first_name", "version")

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx.update(filter=self.filterset, query_string=_query_without_page(self.request),
                   can_create=bool(services.coordinator_organizations(self.request.user)))
        return ctx


def learners_for_new_plan(user):
    """Learners enrolled at the user's organizations (as coordinator) with no plan being prepared or in force there."""
    orgs = services.coordinator_organizations(user)
    enrolled = Enrolment.objects.filter(organization_id__in=orgs, status=Enrolment.Status.ACTIVE).values("learner_id")
    busy = IndividualPlan.objects.filter(organization_id__in=orgs, state__in=[
        PlanState.DRAFT, PlanState.PROPOSED, PlanState.AGREED, PlanState.ACTIVE, PlanState.UNDER_REVIEW]).values("learner_id")
    return Learner.objects.visible_to(user).filter(pk__in=enrolled, archived_at__isnull=True).exclude(pk__in=busy).order_by(
        "last_name", "first_name")


@login_required
def plan_create(request):
    if not services.coordinator_organizations(request.user):
        raise Http404
    learners = learners_for_new_plan(request.user)
    initial = {}
    if request.GET.get("learner", "").isdigit():
        initial["learner"] = int(request.GET["learner"])
    form = forms.CreatePlanForm(request.POST or None, initial=initial, learners=learners)

    def perform(data):
        return services.create_plan(request.user, data["learner"], own_basis=data["own_basis"], review_on=data["review_on"])

    if request.method == "POST" and form.is_valid():
        try:
            plan = perform(form.cleaned_data)
        except ValidationError as exc:
            forms.apply_errors(form, exc)
        except PermissionDenied:
            raise Http404 from None
        else:
            messages.success(request, _("The draft plan was created. Add the goals, check the accommodations and services."))
            return redirect(plan_url(plan))
    return render(request, "plans/form_page.html", {
        "title": _("Start an individual education plan"), "form": form, "submit": _("Create the draft"),
        "intro": _("A plan rests on the PMPK conclusion the family released to your organization; its recommended "
                   "conditions and services are copied in. Without such a conclusion, record your organization's own basis."),
        "cancel": reverse("plans:list")})


# --- the plan page --------------------------------------------------------------------------------------


@login_required
def plan_detail(request, pk):
    plan = _plan(request, pk)
    user = request.user
    goals = list(plan.goals.all())
    reviews = list(plan.reviews.prefetch_related(Prefetch("progress", GoalProgress.objects.select_related("goal"))))
    all_versions = list(services.versions(plan).visible_to(user).select_related("organization"))
    successor = IndividualPlan.objects.visible_to(user).filter(previous=plan).exclude(state=PlanState.CLOSED).first()
    is_coord = services.may_manage(user, plan)
    ctx = {
        "plan": plan, "goals": goals, "reviews": reviews, "versions": all_versions, "successor": successor,
        "accommodations": plan.accommodations.select_related("catalogue"),
        "services": plan.services.select_related("catalogue", "provider_user", "provider_organization"),
        "members": plan.members.select_related("user", "guardian"),
        "may_edit": services.may_edit(user, plan), "may_manage": is_coord and plan.state == PlanState.DRAFT,
        "is_coordinator": is_coord, "may_agree": services.may_agree(user, plan),
        "may_review": plan.is_in_force and (is_coord or services.is_assigned(user, plan)),
        "readiness": services.readiness(plan) if plan.state == PlanState.DRAFT else {},
        "action_form": forms.ActionForm(plan=plan),
        "document_language": document_language(plan),
    }
    return render(request, "plans/plan_detail.html", ctx)


# --- editing a draft ----------------------------------------------------------------------------------------


@login_required
def plan_edit(request, pk):
    plan = _plan(request, pk)
    _coordinator(request, plan)
    initial = {f: getattr(plan, f) for f in services.PLAN_FIELDS if f != "own_basis"}
    initial["tutor"] = plan.tutor_id
    form = forms.PlanDetailsForm(request.POST or None, initial=initial, plan=plan)
    return _form_page(request, plan, title=_("Change the plan's details"), form=form,
                      perform=lambda d: services.update_plan(request.user, plan, **_locked(d)),
                      success=_("The plan's details were saved."))


@login_required
def goal_add(request, pk):
    plan = _plan(request, pk)
    _team(request, plan)
    form = forms.GoalForm(request.POST or None, plan=plan, initial={"review_on": plan.review_on})
    return _form_page(request, plan, title=_("Add a goal"), form=form, anchor="goals",
                      perform=lambda d: services.add_goal(request.user, plan, **_locked(d)), success=_("The goal was added."))


@login_required
def goal_edit(request, pk):
    goal, plan = _part(request, PlanGoal, pk)
    _team(request, plan)
    initial = {f: getattr(goal, f) for f in ("area", "description", "baseline", "target", "measure", "criteria", "review_on")}
    form = forms.GoalForm(request.POST or None, plan=plan, initial=initial)
    return _form_page(request, plan, title=_("Change a goal"), form=form, anchor="goals",
                      perform=lambda d: services.update_goal(request.user, goal, **_locked(d)), success=_("The goal was saved."))


def _remove_page(request, plan, obj, *, title, remove, success, anchor):
    form = forms.ActionForm(request.POST or None, plan=plan)
    return _form_page(request, plan, title=title, form=form, anchor=anchor, danger=True, submit=_("Remove"),
                      intro=str(obj), perform=lambda d: remove(request.user, obj, lock_version=d["lock_version"]),
                      success=success)


@login_required
def goal_remove(request, pk):
    goal, plan = _part(request, PlanGoal, pk)
    _team(request, plan)
    return _remove_page(request, plan, goal, title=_("Remove a goal"), remove=services.remove_goal,
                        success=_("The goal was removed."), anchor="goals")


@login_required
def accommodation_add(request, pk):
    plan = _plan(request, pk)
    _team(request, plan)
    form = forms.AccommodationForm(request.POST or None, plan=plan)
    return _form_page(request, plan, title=_("Add an accommodation or modification"), form=form, anchor="accommodations",
                      perform=lambda d: services.add_accommodation(request.user, plan, **_locked(d)),
                      success=_("The accommodation was added."))


@login_required
def accommodation_edit(request, pk):
    acc, plan = _part(request, PlanAccommodation, pk)
    _team(request, plan)
    form = forms.AccommodationForm(request.POST or None, plan=plan, initial={
        "kind": acc.kind, "catalogue": acc.catalogue_id, "description": acc.description})
    return _form_page(request, plan, title=_("Change an accommodation or modification"), form=form, anchor="accommodations",
                      perform=lambda d: services.update_accommodation(request.user, acc, **_locked(d)),
                      success=_("The accommodation was saved."))


@login_required
def accommodation_remove(request, pk):
    acc, plan = _part(request, PlanAccommodation, pk)
    _team(request, plan)
    return _remove_page(request, plan, acc, title=_("Remove an accommodation"), remove=services.remove_accommodation,
                        success=_("The accommodation was removed."), anchor="accommodations")


@login_required
def service_add(request, pk):
    plan = _plan(request, pk)
    _coordinator(request, plan)
    form = forms.ServiceForm(request.POST or None, plan=plan, initial={"starts_on": plan.effective_from})
    return _form_page(request, plan, title=_("Add a planned service"), form=form, anchor="services",
                      perform=lambda d: services.add_service(request.user, plan, **_locked(d)),
                      success=_("The service was added."))


@login_required
def service_edit(request, pk):
    service, plan = _part(request, PlanService, pk)
    _coordinator(request, plan)
    form = forms.ServiceForm(request.POST or None, plan=plan, initial={
        "catalogue": service.catalogue_id, "provider_user": service.provider_user_id,
        "provider_organization": service.provider_organization_id, "minutes_per_week": service.minutes_per_week,
        "starts_on": service.starts_on, "ends_on": service.ends_on, "notes": service.notes})
    return _form_page(request, plan, title=_("Change a planned service"), form=form, anchor="services",
                      perform=lambda d: services.update_service(request.user, service, **_locked(d)),
                      success=_("The service was saved."))


@login_required
def service_remove(request, pk):
    service, plan = _part(request, PlanService, pk)
    _coordinator(request, plan)
    return _remove_page(request, plan, service, title=_("Remove a planned service"), remove=services.remove_service,
                        success=_("The service was removed."), anchor="services")


@login_required
def member_add(request, pk):
    plan = _plan(request, pk)
    _coordinator(request, plan)
    form = forms.MemberForm(request.POST or None, plan=plan)
    return _form_page(request, plan, title=_("Add a team member"), form=form, anchor="team",
                      perform=lambda d: services.add_member(request.user, plan, **_locked(d)),
                      success=_("The team member was added."))


@login_required
def member_remove(request, pk):
    member, plan = _part(request, PlanMember, pk)
    _coordinator(request, plan)
    return _remove_page(request, plan, member, title=_("Remove a team member"), remove=services.remove_member,
                        success=_("The team member was removed."), anchor="team")


# --- the workflow ------------------------------------------------------------------------------------------


@login_required
def plan_propose(request, pk):
    plan = _plan(request, pk)
    _coordinator(request, plan)
    form = forms.ActionForm(request.POST or None, plan=plan)
    return _form_page(request, plan, title=_("Propose the plan to the family"), form=form, submit=_("Propose"),
                      intro=_("The family sees the plan and agrees to it in the system, or the agreement is recorded on "
                              "paper. Once proposed, the plan cannot be changed unless it is returned to draft."),
                      perform=lambda d: services.propose(request.user, plan, **d), success=_("The plan was proposed to the family."))


@login_required
def plan_return(request, pk):
    plan = _plan(request, pk)
    _only(services.may_manage(request.user, plan) or services.guardian_of(request.user, plan.learner) is not None)
    is_parent = services.guardian_of(request.user, plan.learner) is not None and not services.may_manage(request.user, plan)
    form = (forms.ParentChangesForm if is_parent else forms.ReasonForm)(request.POST or None, plan=plan)
    return _form_page(request, plan, title=_("Ask for changes") if is_parent else _("Return the plan to draft"), form=form,
                      perform=lambda d: services.return_to_draft(request.user, plan, **d),
                      success=_("The plan went back to draft."))


@login_required
def plan_agree(request, pk):
    plan = _plan(request, pk)
    _only(services.may_manage(request.user, plan) or services.guardian_of(request.user, plan.learner) is not None)
    if services.may_agree(request.user, plan) and not services.may_manage(request.user, plan):
        form = forms.ParentAgreeForm(request.POST or None, plan=plan)
        return _form_page(request, plan, title=_("Agree to the plan"), form=form, submit=_("I agree"),
                          perform=lambda d: services.agree(request.user, plan, lock_version=d["lock_version"],
                                                           method=Agreement.IN_SYSTEM),
                          success=_("Thank you: your agreement was recorded."))
    form = forms.AgreeForm(request.POST or None, plan=plan, guardians=services.legal_representatives(plan.learner))
    return _form_page(request, plan, title=_("Record the family's agreement"), form=form,
                      perform=lambda d: services.agree(request.user, plan, **d), success=_("The family's answer was recorded."))


@login_required
def plan_activate(request, pk):
    plan = _plan(request, pk)
    _coordinator(request, plan)
    form = forms.ActivateForm(request.POST or None, plan=plan, initial={"effective_from": plan.effective_from})
    return _form_page(request, plan, title=_("Put the plan into force"), form=form, submit=_("Put into force"),
                      intro=_("An amendment replaces the version in force; that version is kept unchanged in the history."),
                      perform=lambda d: services.activate(request.user, plan, **d), success=_("The plan is in force."))


@login_required
def plan_amend(request, pk):
    plan = _plan(request, pk)
    _coordinator(request, plan)
    form = forms.AmendForm(request.POST or None, plan=plan)
    return _form_page(request, plan, title=_("Amend the plan"), form=form, submit=_("Start the amendment"),
                      intro=_("An amendment is a new version, effective from a date. The version in force stays as it is "
                              "until the new one is agreed and put into force."),
                      perform=lambda d: services.amend(request.user, plan, **d),
                      back=lambda new: plan_url(new), success=_("A new draft version was created: change it, then propose it."))


@login_required
def plan_close(request, pk):
    plan = _plan(request, pk)
    _coordinator(request, plan)
    form = forms.ReasonForm(request.POST or None, plan=plan)
    return _form_page(request, plan, title=_("Close the plan"), form=form, submit=_("Close"), danger=True,
                      perform=lambda d: services.close(request.user, plan, **d), success=_("The plan was closed."))


@login_required
def plan_start_review(request, pk):
    plan = _plan(request, pk)
    _team(request, plan)
    form = forms.ActionForm(request.POST or None, plan=plan)
    return _form_page(request, plan, title=_("Start the review"), form=form, submit=_("Start the review"),
                      perform=lambda d: services.start_review(request.user, plan, **d), success=_("The review has started."),
                      anchor="reviews")


@login_required
def plan_review(request, pk):
    plan = _plan(request, pk)
    _team(request, plan)
    goals = list(plan.goals.all())
    form = forms.ReviewForm(request.POST or None, plan=plan, goals=goals)

    def perform(d):
        return services.record_review(
            request.user, plan, lock_version=d["lock_version"], held_on=d["held_on"], decision=d["decision"],
            progress=form.progress(), summary=d["summary"], family_present=d["family_present"],
            next_review_on=d["next_review_on"], amendment_effective_from=d["amendment_effective_from"])

    return _form_page(request, plan, title=_("Record the review"), form=form, submit=_("Record the review"),
                      perform=perform, success=_("The review was recorded."), anchor="reviews")


# --- documents ----------------------------------------------------------------------------------------------


def document_language(plan: IndividualPlan, requested: str | None = None) -> str:
    """The family's language: the legal representative's preferred language when Kyrgyz or Russian."""
    if requested in documents.DOCUMENT_LANGUAGES:
        return requested
    for guardian in services.legal_representatives(plan.learner):
        if guardian.preferred_language in documents.DOCUMENT_LANGUAGES:
            return guardian.preferred_language
    if plan.conclusion_id and plan.conclusion.family_language in documents.DOCUMENT_LANGUAGES:
        return plan.conclusion.family_language
    return "ky"


def document_context(plan: IndividualPlan) -> dict:
    reviews = plan.reviews.prefetch_related(Prefetch("progress", GoalProgress.objects.select_related("goal")))
    return {
        "plan": plan, "goals": plan.goals.all(), "accommodations": plan.accommodations.select_related("catalogue"),
        "services": plan.services.select_related("catalogue", "provider_user", "provider_organization"),
        "members": plan.members.select_related("user", "guardian"), "reviews": reviews,
        "enrolment": plan.enrolment,
    }


@login_required
def plan_document(request, pk, fmt="html"):
    plan = _plan(request, pk)
    language = document_language(plan, request.GET.get("lang"))
    context = document_context(plan)
    if fmt == "pdf":
        pdf = documents.render_pdf("plans/plan_document.html", context, language, base_url=request.build_absolute_uri("/"))
        return documents.pdf_response(pdf, f"plan-{plan.pk}-v{plan.version}-{language}.pdf")
    names = dict(settings.LANGUAGES)
    context.update(document_language=language, for_pdf=False,
                   other_languages=[(code, names[code]) for code in documents.DOCUMENT_LANGUAGES if code != language])
    return render(request, "plans/plan_document_page.html", context)
