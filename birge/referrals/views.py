"""Pages of early identification, referrals, deadlines and notifications.

Every record is fetched through the access policy (out of reach is a 404); every change goes
through ``services`` (or ``birge.core.deadlines``). Ids only in URLs, never personal data.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from birge.core import access, deadlines
from birge.core.access import Rec
from birge.core.deadline_models import Deadline, Notification
from birge.learners import services as learner_services
from birge.learners.models import Learner

from . import forms, services
from .filters import ConcernFilter, DeadlineFilter, NotificationFilter, ReferralFilter, mark_due, queue_order, with_clocks
from .home import decorate
from .models import Attachment, Concern, Observation, Referral, State

PAGE_SIZE = 50


def _query_without_page(request) -> str:
    q = request.GET.copy()
    q.pop("page", None)
    return q.urlencode()


def _page(request, qs):
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def _referral(request, pk, action="read") -> Referral:
    qs = Referral.objects.select_related("learner", "learner__territory", "receiving_organization", "referring_organization",
                                         "created_by", "consent")
    return access.get_visible_or_404(request.user, qs, action, pk=pk)


def _learner_param(request, record_type) -> Learner | None:
    """``?learner=<id>`` when the user may write records of this type about that learner; 404 otherwise."""
    raw = request.GET.get("learner") or request.POST.get("learner")
    if not raw:
        return None
    learner = access.get_visible_or_404(request.user, Learner.objects.select_related("territory"), pk=raw)
    if not learner_services.may(request.user, "write", record_type, learner):
        raise Http404
    return learner


def _form_page(request, *, title, form, perform, success, back, cancel, referral=None, learner=None, intro="",
               submit=None, danger=False, multipart=False, template="referrals/form_page.html", extra=None):
    if request.method == "POST" and form.is_valid():
        try:
            result = perform(form.cleaned_data)
        except ValidationError as exc:
            forms.apply_errors(form, exc)
        else:
            messages.success(request, success)
            return redirect(back(result) if callable(back) else back)
    context = {"title": title, "form": form, "referral": referral, "learner": learner or (referral.learner if referral else None),
               "intro": intro, "submit": submit or title, "danger": danger, "cancel": cancel, "multipart": multipart}
    context.update(extra or {})
    return render(request, template, context)


# --- referral list and queue ---------------------------------------------------------------------------


@login_required
def referral_list(request):
    user = request.user
    if not access.can(user, "read", Rec.REFERRAL):
        raise Http404
    base = with_clocks(Referral.objects.visible_to(user).select_related("learner", "receiving_organization",
                                                                        "referring_organization"))
    filterset = ReferralFilter(request.GET or None, queryset=base, request=request)
    qs = filterset.qs if filterset.is_bound and filterset.is_valid() else base
    page = _page(request, queue_order(qs))
    return render(request, "referrals/referral_list.html", {
        "filter": filterset, "page_obj": page, "referrals": mark_due(page.object_list), "query_string": _query_without_page(request),
        "can_create": access.can(user, "write", Rec.REFERRAL),
        "is_receiver": any(g.role in ("pmpk-chair", "pmpk-member") for g in access.grants(user)),
    })


# --- create and edit -----------------------------------------------------------------------------------


@login_required
def referral_create(request):
    user = request.user
    if not access.can(user, "write", Rec.REFERRAL):
        raise Http404
    learner = _learner_param(request, Rec.REFERRAL)
    if learner is None:
        return _choose_learner(request, Rec.REFERRAL, "referrals:create", _("Refer a child to the PMPK"))
    parent = not services._writing_organizations(user) and learner_services.guardian_of(user, learner) is not None
    form = forms.ReferralForm(request.POST or None, learner=learner, user=user, parent=parent)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            referral = services.create_referral(
                user, learner, kind=data["kind"], receiving_organization=data["receiving_organization"],
                referring_organization=data.get("referring_organization"), reason=data["reason"], tried=data["tried"],
                parent_consent=data.get("parent_consent", False), submit=request.POST.get("action") == "submit")
        except ValidationError as exc:
            forms.apply_errors(form, exc)
        except PermissionDenied:
            raise Http404 from None
        else:
            messages.success(request, _("The referral was submitted to the PMPK.") if referral.state == State.SUBMITTED
                             else _("The referral was saved as a draft."))
            return redirect(referral)
    return render(request, "referrals/referral_form.html", {"form": form, "learner": learner, "creating": True,
                                                            "parent": parent})


def _choose_learner(request, record_type, url_name, title):
    """Find the child first (a search form; the results link with ``?learner=<id>``)."""
    form = forms.LearnerSearchForm(request.GET or None)
    found = []
    if request.GET.get("q") and form.is_valid():
        visible = Learner.objects.visible_to(request.user).filter(archived_at__isnull=True).select_related("territory")
        found = [lr for lr in learner_services.search(visible, form.cleaned_data["q"]).order_by("last_name", "first_name")[:50]
                 if learner_services.may(request.user, "write", record_type, lr)]
    return render(request, "referrals/choose_learner.html",
                  {"form": form, "found": found, "title": title, "url_name": url_name, "searched": bool(request.GET.get("q"))})


@login_required
def referral_edit(request, pk):
    referral = _referral(request, pk, "write")
    if not services.can_edit(request.user, referral):
        raise Http404
    initial = {"reason": referral.reason, "tried": referral.tried, "receiving_organization": referral.receiving_organization_id}
    form = forms.ReferralEditForm(request.POST or None, initial=initial, learner=referral.learner)
    return _form_page(request, title=_("Change the draft referral"), form=form, referral=referral,
                      perform=lambda d: services.update_referral(request.user, referral, **d),
                      success=_("The changes were saved."), back=referral.get_absolute_url(),
                      cancel=referral.get_absolute_url(), submit=_("Save"))


# --- detail ---------------------------------------------------------------------------------------------


@login_required
def referral_detail(request, pk):
    user = request.user
    referral = _referral(request, pk)
    actions = []
    for t in services.allowed_transitions(user, referral):
        form = None
        if t.name == "schedule":
            when = referral.appointment_at and timezone.localtime(referral.appointment_at).strftime("%Y-%m-%dT%H:%M")
            form = forms.ScheduleForm(initial={"appointment_at": when, "appointment_place": referral.appointment_place},
                                      prefix="schedule")
        elif t.needs_reason:
            form = forms.ReasonForm(prefix=t.name)
        actions.append({"transition": t, "form": form, "url": reverse("referrals:transition", args=[referral.pk, t.slug])})
    clocks = list(Deadline.objects.for_object(referral).order_by("started_at", "id"))
    writable = set(Deadline.objects.visible_to(user, "write").filter(pk__in=[c.pk for c in clocks]).values_list("pk", flat=True))
    for c in clocks:
        c.abs_days = abs(c.days_left)
        c.can_explain = c.pk in writable and c.is_open
    ctx = {
        "referral": referral, "learner": referral.learner, "actions": actions, "clocks": clocks,
        "observations": list(Observation.objects.visible_to(user).filter(referral=referral).select_related("observed_by",
                                                                                                             "organization")),
        "attachments": list(Attachment.objects.visible_to(user).filter(referral=referral).select_related("uploaded_by")),
        "concerns": list(Concern.objects.visible_to(user).filter(referral=referral)),
        "can_observe": services.can_add_observation(user, referral),
        "can_attach": services.can_add_attachment(user, referral),
        "can_edit": services.can_edit(user, referral),
        "consent": services.active_assessment_consent(referral.learner),
        "can_record_consent": learner_services.may(user, "write", Rec.CONSENT, referral.learner),
        "history": services.history(user, referral),
        "learner_visible": Learner.objects.visible_to(user).filter(pk=referral.learner_id).exists(),
    }
    return render(request, "referrals/referral_detail.html", ctx)


@login_required
@require_POST
def referral_transition(request, pk, action):
    user = request.user
    referral = _referral(request, pk)
    t = services.TRANSITIONS.get(action.replace("-", "_"))
    if t is None:
        raise Http404
    data = {}
    form = None
    if t.needs_reason:
        form = forms.ReasonForm(request.POST, prefix=t.name)
    elif t.name == "schedule":
        form = forms.ScheduleForm(request.POST, prefix="schedule")
    if form is not None and not form.is_valid():
        return _transition_errors(request, referral, t, form)
    if form is not None:
        data = dict(form.cleaned_data)
    try:
        services.perform(user, referral, t.name, **data)
    except ValidationError as exc:
        if form is None:  # a one-button action: say why on the record's page
            for message in exc.messages:
                messages.error(request, message)
            return redirect(referral)
        forms.apply_errors(form, exc)
        return _transition_errors(request, referral, t, form)
    messages.success(request, _("Done: %(action)s.") % {"action": t.label})
    return redirect(referral)


def _transition_errors(request, referral, t, form):
    """The action's form again, with its errors, on a page of its own (status 400)."""
    return render(request, "referrals/transition_form.html",
                  {"referral": referral, "learner": referral.learner, "transition": t, "form": form, "title": str(t.label),
                   "action_url": reverse("referrals:transition", args=[referral.pk, t.slug])}, status=400)


# --- observations and attachments -----------------------------------------------------------------------


@login_required
def observation_add(request, pk):
    referral = _referral(request, pk, "write")
    if not services.can_add_observation(request.user, referral):
        raise Http404
    form = forms.ObservationForm(request.POST or None)
    return _form_page(request, title=_("Add an observation"), form=form, referral=referral,
                      intro=_("Describe what the child does in one area of functioning. Add one observation per area."),
                      perform=lambda d: services.add_observation(request.user, referral, **d),
                      success=_("The observation was added."), back=referral.get_absolute_url() + "#observations",
                      cancel=referral.get_absolute_url())


@login_required
def attachment_add(request, pk):
    referral = _referral(request, pk, "write")
    if not services.can_add_attachment(request.user, referral):
        raise Http404
    form = forms.AttachmentForm(request.POST or None, request.FILES or None)
    return _form_page(request, title=_("Add a document"), form=form, referral=referral, multipart=True,
                      perform=lambda d: services.add_attachment(request.user, referral, **d),
                      success=_("The document was added."), back=referral.get_absolute_url() + "#attachments",
                      cancel=referral.get_absolute_url(), submit=_("Upload"))


@login_required
def attachment_download(request, pk):
    attachment = access.get_visible_or_404(request.user, Attachment.objects.all(), pk=pk)
    if not attachment.file:
        raise Http404
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    services.opened_attachment(request.user, attachment)
    return FileResponse(handle, content_type=attachment.content_type, as_attachment=True,
                        filename=attachment.original_name or f"document-{attachment.pk}")


# --- early identification ----------------------------------------------------------------------------------


@login_required
def concern_list(request):
    user = request.user
    if not access.can(user, "read", Rec.CONCERN):
        raise Http404
    base = Concern.objects.visible_to(user).select_related("learner", "organization", "referral")
    filterset = ConcernFilter(request.GET or None, queryset=base, request=request)
    qs = filterset.qs if filterset.is_bound and filterset.is_valid() else base
    page = _page(request, qs.order_by("-noticed_on", "-pk"))
    return render(request, "referrals/concern_list.html", {
        "filter": filterset, "page_obj": page, "concerns": page.object_list, "query_string": _query_without_page(request),
        "can_create": access.can(user, "write", Rec.CONCERN)})


@login_required
def concern_create(request):
    user = request.user
    if not access.can(user, "write", Rec.CONCERN):
        raise Http404
    learner = _learner_param(request, Rec.CONCERN)
    if learner is None:
        return _choose_learner(request, Rec.CONCERN, "referrals:concern-create", _("Record a developmental concern"))
    form = forms.ConcernForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            concern = services.record_concern(user, learner, noticed_on=d["noticed_on"], place=d["place"],
                                              place_detail=d["place_detail"], noticed=form.noticed(), summary=d["summary"])
        except ValidationError as exc:
            forms.apply_errors(form, exc)
        except PermissionDenied:
            raise Http404 from None
        else:
            messages.success(request, _("The concern was recorded and an early-intervention referral is open."))
            return redirect(concern)
    return render(request, "referrals/concern_form.html", {"form": form, "learner": learner})


@login_required
def concern_detail(request, pk):
    concern = access.get_visible_or_404(request.user, Concern.objects.select_related(
        "learner", "organization", "recorded_by", "referral"), pk=pk)
    referral = concern.referral if concern.referral_id and Referral.objects.visible_to(request.user).filter(
        pk=concern.referral_id).exists() else None
    return render(request, "referrals/concern_detail.html", {"concern": concern, "learner": concern.learner,
                                                             "referral": referral})


# --- deadlines and notifications ----------------------------------------------------------------------------


@login_required
def deadline_list(request):
    user = request.user
    data = request.GET.copy()
    if not data.get("status"):
        data["status"] = "attention"
    base = Deadline.objects.visible_to(user).select_related("content_type", "owner_organization", "owner_user")
    filterset = DeadlineFilter(data, queryset=base, request=request)
    qs = filterset.qs if filterset.is_valid() else base.none()
    page = _page(request, qs.order_by("due_on", "id"))
    items = decorate(user, page.object_list)
    return render(request, "referrals/deadline_list.html", {
        "filter": filterset, "page_obj": page, "items": items, "query_string": _query_without_page(request),
        "due_soon_days": _due_soon_days()})


def _due_soon_days():
    from django.conf import settings

    return settings.BIRGE_DUE_SOON_DAYS


@login_required
def deadline_delay(request, pk):
    deadline = deadlines.get_visible_or_404(request.user, pk, "write")
    if not deadline.is_open:
        raise Http404
    form = forms.DelayReasonForm(request.POST or None, initial={"reason": deadline.delay_reason})
    back = reverse("referrals:deadlines")
    return _form_page(request, title=_("Record the reason for a delay"), form=form,
                      intro=_("%(clock)s — due on %(due)s.") % {"clock": deadline.get_clock_display(),
                                                                 "due": deadline.due_on.isoformat()},
                      perform=lambda d: deadlines.record_delay_reason(request.user, deadline, d["reason"]),
                      success=_("The reason for the delay was recorded."), back=back, cancel=back, submit=_("Save"))


@login_required
def notification_list(request):
    base = Notification.objects.filter(user=request.user)
    filterset = NotificationFilter(request.GET or None, queryset=base, request=request)
    qs = filterset.qs if filterset.is_bound and filterset.is_valid() else base
    page = _page(request, qs.order_by("-created_at", "-id"))
    return render(request, "referrals/notification_list.html", {
        "filter": filterset, "page_obj": page, "items": page.object_list, "query_string": _query_without_page(request),
        "unread": deadlines.unread_count(request.user)})


@login_required
@require_POST
def notification_read(request, pk):
    notification = Notification.objects.filter(pk=pk, user=request.user).first()
    if notification is None:
        raise Http404
    deadlines.mark_read(request.user, notification)
    target = notification.link if request.POST.get("open") else ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) and target.startswith("/"):
        return HttpResponseRedirect(target)
    return redirect("referrals:notifications")


@login_required
@require_POST
def notification_read_all(request):
    n = deadlines.mark_all_read(request.user)
    messages.success(request, _("%(n)d notification(s) marked as read.") % {"n": n})
    return redirect("referrals:notifications")
