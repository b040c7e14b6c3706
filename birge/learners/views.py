"""Pages of the learner registry. Every record is fetched through the access policy; every change
goes through ``services``. Out of reach is a 404; write pages answer 404 to those who may only read."""

from __future__ import annotations

import mimetypes

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import ListView

from birge.core import access, learner_page, names
from birge.core.access import Rec
from birge.core.tabular import ImportFileError

from . import forms, rosters, services
from .filters import LearnerFilter
from .models import Assignment, Consent, Diagnosis, DisabilityStatus, Enrolment, Guardian, GuardianLink, Learner

# --- helpers ------------------------------------------------------------------------------------


def _learner(request, pk, action="read") -> Learner:
    return access.get_visible_or_404(request.user, Learner.objects.select_related("territory", "created_by_org"), action, pk=pk)


def _learner_for(request, pk, record_type) -> Learner:
    """The learner, when the user may add a record of this type about them (else 404)."""
    learner = _learner(request, pk)
    if not services.may(request.user, "write", record_type, learner):
        raise Http404
    return learner


def _query_without_page(request) -> str:
    q = request.GET.copy()
    q.pop("page", None)
    return q.urlencode()


def _form_page(request, *, title, form, perform, success, back, learner=None, intro="", submit=None, danger=False,
               aliases=None, template="learners/form_page.html", extra=None):
    """Shared flow of the action pages: show the form; on a valid POST call the service; show its errors."""
    if request.method == "POST" and form.is_valid():
        try:
            result = perform(form.cleaned_data)
        except ValidationError as exc:
            forms.apply_errors(form, exc, aliases)
        except PermissionDenied:
            raise Http404 from None
        else:
            messages.success(request, success)
            return redirect(back(result) if callable(back) else back)
    context = {"title": title, "form": form, "learner": learner, "intro": intro, "submit": submit or title,
               "danger": danger, "cancel": reverse("learners:detail", args=[learner.pk]) if learner else reverse("learners:list")}
    context.update(extra or {})
    return render(request, template, context)


def _detail_url(learner_id, anchor=""):
    return reverse("learners:detail", args=[learner_id]) + (f"#{anchor}" if anchor else "")


# --- list and search -----------------------------------------------------------------------------


class LearnerList(LoginRequiredMixin, ListView):
    template_name = "learners/learner_list.html"
    paginate_by = 50

    def get_queryset(self):
        base = Learner.objects.visible_to(self.request.user).select_related("territory")
        self.filterset = LearnerFilter(self.request.GET or {}, queryset=base, request=self.request)
        qs = self.filterset.qs if self.filterset.is_valid() else base.filter(archived_at__isnull=True)
        return qs.order_by("last_name", "first_name", "pk")

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        learners = ctx["object_list"]
        active = Enrolment.objects.visible_to(self.request.user).filter(
            learner__in=[lr.pk for lr in learners], status=Enrolment.Status.ACTIVE).select_related("organization")
        by_learner = {}
        for e in active:
            by_learner.setdefault(e.learner_id, []).append(e)
        for lr in learners:
            lr.active_enrolments = by_learner.get(lr.pk, [])
        ctx.update(filter=self.filterset, query_string=_query_without_page(self.request),
                   can_create=access.can(self.request.user, "write", Rec.LEARNER),
                   can_import=access.can(self.request.user, "write", Rec.ENROLMENT),
                   searched=bool(self.request.GET.get("q")))
        return ctx


# --- create with the duplicate check ----------------------------------------------------------------


@login_required
def learner_create(request):
    if not access.can(request.user, "write", Rec.LEARNER):
        raise Http404
    form = forms.LearnerForm(request.POST or None)
    existing = None
    candidates = None
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            learner = services.create_learner(
                request.user, confirm_new_despite_duplicates=request.POST.get("confirm_new") == "1", **data)
        except services.DuplicatePin as exc:
            existing = exc.existing
            forms.apply_errors(form, exc)
        except services.PossibleDuplicates as exc:
            candidates = exc.candidates
        except ValidationError as exc:
            forms.apply_errors(form, exc)
        else:
            messages.success(request, _("The learner was registered."))
            return redirect("learners:detail", pk=learner.pk)
    if candidates:
        return render(request, "learners/learner_duplicates.html", {"form": form, "candidates": candidates})
    return render(request, "learners/learner_form.html", {"form": form, "existing": existing, "creating": True})


@login_required
def learner_edit(request, pk):
    learner = _learner(request, pk, "write")
    initial = {f: getattr(learner, f) for f in services.LEARNER_EDITABLE}
    initial["confirm_mismatch"] = learner.pin_mismatch_confirmed
    form = forms.LearnerForm(request.POST or None, initial=initial, with_pin=False)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k in services.LEARNER_EDITABLE}
        try:
            services.update_learner(request.user, learner, confirm_mismatch=form.cleaned_data["confirm_mismatch"], **data)
        except ValidationError as exc:
            forms.apply_errors(form, exc)
        else:
            messages.success(request, _("The changes were saved."))
            return redirect("learners:detail", pk=learner.pk)
    return render(request, "learners/learner_form.html", {"form": form, "learner": learner, "creating": False})


# --- detail ----------------------------------------------------------------------------------------


@login_required
def learner_detail(request, pk):
    user = request.user
    learner = _learner(request, pk)
    can = {rec: {"read": services.may(user, "read", rec, learner), "write": services.may(user, "write", rec, learner)}
           for rec in (Rec.GUARDIAN, Rec.CONSENT, Rec.DISABILITY, Rec.DIAGNOSIS, Rec.ENROLMENT)}
    can_write_learner = access.can_write(user, learner)
    ctx = {"learner": learner, "can": can, "can_write_learner": can_write_learner}
    ctx["guardian_links"] = list(GuardianLink.objects.visible_to(user).filter(learner=learner).select_related("guardian", "guardian__user")
                                 .order_by("ends_on", "-starts_on"))
    ctx["consents"] = list(Consent.objects.visible_to(user).filter(learner=learner).select_related("recipient", "given_by"))
    statuses = list(DisabilityStatus.objects.visible_to(user).filter(learner=learner).select_related("certifying_body"))
    diagnoses = list(Diagnosis.objects.visible_to(user).filter(learner=learner))
    services.opened(user, statuses + diagnoses)  # a read event for every sensitive record shown
    ctx["statuses"], ctx["diagnoses"] = statuses, diagnoses
    ctx["enrolments"] = list(Enrolment.objects.visible_to(user).filter(learner=learner).select_related("organization")
                             .order_by("status", "-starts_on"))
    ctx["assignments"] = list(Assignment.objects.visible_to(user).filter(learner=learner).select_related("user", "organization")
                              .order_by("ends_on", "-starts_on"))
    ctx["pin_history"] = list(learner.pin_history.all()) if can_write_learner else []
    ctx["history"] = services.learner_history(user, learner)
    own = services.guardian_of(user, learner)
    ctx["parent_can_consent"] = own is not None and can[Rec.CONSENT]["write"]
    ctx["can_assign"] = can_write_learner and services.assignable_staff(user).exists()
    ctx["sections"] = learner_page.sections_for(request, learner)  # referrals, screenings, plans …
    return render(request, "learners/learner_detail.html", ctx)


@login_required
def learner_pin(request, pk):
    learner = _learner(request, pk, "write")
    form = forms.PinChangeForm(request.POST or None)
    return _form_page(
        request, title=_("Change the PIN") if learner.pin else _("Add the PIN"), form=form, learner=learner,
        intro=_("The current PIN stays in the learner's PIN history."),
        perform=lambda d: services.change_pin(request.user, learner, new_pin=d["pin"], reason=d["reason"],
                                              confirm_mismatch=d["confirm_mismatch"]),
        success=_("The PIN was changed."), back=_detail_url(learner.pk),
    )


@login_required
def learner_archive(request, pk):
    learner = _learner(request, pk, "write")
    restoring = learner.archived_at is not None
    form = forms.ReasonForm(request.POST or None)
    if restoring:
        return _form_page(request, title=_("Restore the record"), form=form, learner=learner,
                          perform=lambda d: services.restore_learner(request.user, learner, reason=d["reason"]),
                          success=_("The record was restored."), back=_detail_url(learner.pk))
    return _form_page(
        request, title=_("Archive the record"), form=form, learner=learner, danger=True,
        intro=_("An archived record is never deleted: it leaves the lists and keeps its history. It can be restored."),
        perform=lambda d: services.archive_learner(request.user, learner, reason=d["reason"]),
        success=_("The record was archived."), back=_detail_url(learner.pk),
    )


# --- guardians ---------------------------------------------------------------------------------------


@login_required
def guardian_add(request, pk):
    learner = _learner_for(request, pk, Rec.GUARDIAN)
    form = forms.GuardianForm(request.POST or None, initial={"is_legal_representative": True})

    def perform(d):
        return services.add_guardian(request.user, learner, **d)

    return _form_page(request, title=_("Add a guardian"), form=form, learner=learner, perform=perform,
                      success=_("The guardian was added."), back=_detail_url(learner.pk, "guardians"))


@login_required
def guardian_link(request, pk):
    learner = _learner_for(request, pk, Rec.GUARDIAN)
    q = (request.POST.get("q") if request.method == "POST" else request.GET.get("q", "")) or ""
    search = forms.GuardianSearchForm({"q": q} if q else None)
    found = Guardian.objects.none()
    if q.strip():
        candidates = Guardian.objects.visible_to(request.user).exclude(pk__in=GuardianLink.objects.filter(
            learner=learner, ends_on__isnull=True).values("guardian_id"))
        for term in names.search_terms(q):
            candidates = candidates.filter(search_key__contains=term)
        ids = list(candidates.order_by("last_name", "first_name").values_list("pk", flat=True)[:30])
        found = Guardian.objects.filter(pk__in=ids).order_by("last_name", "first_name")
    form = forms.GuardianLinkForm(request.POST or None, guardians=found, initial={"is_legal_representative": True})
    return _form_page(
        request, title=_("Link an existing guardian"), form=form, learner=learner,
        perform=lambda d: services.link_guardian(request.user, learner, d.pop("guardian"), **d),
        success=_("The guardian was linked."), back=_detail_url(learner.pk, "guardians"),
        template="learners/guardian_link.html", extra={"search": search, "q": q, "found": found},
    )


@login_required
def guardian_edit(request, pk):
    guardian = access.get_visible_or_404(request.user, Guardian.objects.all(), "write", pk=pk)
    learner = Learner.objects.visible_to(request.user).filter(guardian_links__guardian=guardian).first()
    initial = {f: getattr(guardian, f) for f in services.GUARDIAN_FIELDS}
    form = forms.GuardianFieldsForm(request.POST or None, initial=initial)
    return _form_page(request, title=_("Change the guardian's details"), form=form, learner=learner,
                      perform=lambda d: services.update_guardian(request.user, guardian, **d),
                      success=_("The changes were saved."),
                      back=_detail_url(learner.pk, "guardians") if learner else reverse("learners:list"))


@login_required
def guardian_account(request, pk):
    guardian = access.get_visible_or_404(request.user, Guardian.objects.all(), "write", pk=pk)
    learner = Learner.objects.visible_to(request.user).filter(guardian_links__guardian=guardian).first()
    if guardian.user_id:
        raise Http404
    form = forms.ParentAccountForm(request.POST or None, initial={"email": guardian.email})
    return _form_page(
        request, title=_("Give the guardian a parent account"), form=form, learner=learner,
        intro=_("The guardian can then see their children's records and give consent in the system. "
                "They receive an e-mail with a link to set their own password."),
        perform=lambda d: services.give_parent_account(request.user, guardian, request=request, **d),
        success=_("The account was created and the e-mail sent."),
        back=_detail_url(learner.pk, "guardians") if learner else reverse("learners:list"),
    )


@login_required
def guardian_link_end(request, pk):
    link = access.get_visible_or_404(request.user, GuardianLink.objects.select_related("guardian", "learner"), "write", pk=pk)
    form = forms.EndWithDateForm(request.POST or None)
    return _form_page(
        request, title=_("End the link with %(name)s") % {"name": link.guardian}, form=form, learner=link.learner, danger=True,
        perform=lambda d: services.end_guardian_link(request.user, link, reason=d["reason"], ends_on=d["ends_on"]),
        success=_("The link was ended."), back=_detail_url(link.learner_id, "guardians"),
    )


# --- consent -----------------------------------------------------------------------------------------


@login_required
def consent_add(request, pk):
    learner = _learner_for(request, pk, Rec.CONSENT)
    own = services.guardian_of(request.user, learner)
    if own is not None:
        form = forms.ParentConsentForm(request.POST or None, learner=learner, user=request.user)

        def perform(d):
            d.pop("agree")
            return services.record_consent(request.user, learner, method=Consent.Method.IN_SYSTEM, given_by=own, **d)

        intro = _("You give this consent in the system as %(name)s. You can withdraw it at any time.") % {"name": own}
    else:
        form = forms.ConsentForm(request.POST or None, request.FILES or None, learner=learner, user=request.user)

        def perform(d):
            return services.record_consent(request.user, learner, **d)

        intro = _("Record a consent the family signed on paper; attach the scan if you have it.")
    return _form_page(request, title=_("Record a consent"), form=form, learner=learner, intro=intro, perform=perform,
                      success=_("The consent was recorded."), back=_detail_url(learner.pk, "consents"),
                      extra={"multipart": own is None})


@login_required
def consent_withdraw(request, pk):
    consent = access.get_visible_or_404(request.user, Consent.objects.select_related("learner"), "write", pk=pk)
    form = forms.ReasonForm(request.POST or None)
    return _form_page(
        request, title=_("Withdraw the consent: %(purpose)s") % {"purpose": consent.get_purpose_display()}, form=form,
        learner=consent.learner, danger=True,
        intro=_("From now on nothing may be done on the basis of this consent. The record stays in the register."),
        perform=lambda d: services.withdraw_consent(request.user, consent, reason=d["reason"]),
        success=_("The consent was withdrawn."), back=_detail_url(consent.learner_id, "consents"),
    )


@login_required
def consent_document(request, pk):
    consent = access.get_visible_or_404(request.user, Consent.objects.all(), pk=pk)
    if not consent.document:
        raise Http404
    content_type = mimetypes.guess_type(consent.document.name)[0] or "application/octet-stream"
    return FileResponse(consent.document.open("rb"), content_type=content_type, as_attachment=True,
                        filename=f"consent-{consent.pk}{consent.document.name[consent.document.name.rfind('.'):]}")


# --- disability and diagnosis --------------------------------------------------------------------------


@login_required
def disability_detail(request, pk):
    status = access.get_visible_or_404(request.user, DisabilityStatus.objects.select_related("learner", "certifying_body"), pk=pk)
    services.opened(request.user, [status])
    return render(request, "learners/disability_detail.html",
                  {"status": status, "learner": status.learner, "can_write": access.can_write(request.user, status)})


@login_required
def disability_add(request, pk):
    learner = _learner_for(request, pk, Rec.DISABILITY)
    form = forms.DisabilityForm(request.POST or None, learner=learner)
    return _form_page(request, title=_("Record a disability status"), form=form, learner=learner,
                      perform=lambda d: services.record_disability(request.user, learner, **d),
                      success=_("The disability status was recorded."), back=_detail_url(learner.pk, "disability"))


@login_required
def disability_close(request, pk):
    status = access.get_visible_or_404(request.user, DisabilityStatus.objects.select_related("learner"), "write", pk=pk)
    form = forms.ReasonForm(request.POST or None)
    return _form_page(request, title=_("Close the disability status"), form=form, learner=status.learner, danger=True,
                      perform=lambda d: services.close_disability(request.user, status, reason=d["reason"]),
                      success=_("The status was closed."), back=_detail_url(status.learner_id, "disability"))


@login_required
def diagnosis_add(request, pk):
    learner = _learner_for(request, pk, Rec.DIAGNOSIS)
    form = forms.DiagnosisForm(request.POST or None)
    return _form_page(request, title=_("Record a diagnosis code"), form=form, learner=learner,
                      intro=_("Optional. Needs are recorded as functioning; a medical code is seen only by health and PMPK "
                              "roles and the family."),
                      perform=lambda d: services.record_diagnosis(request.user, learner, **d),
                      success=_("The diagnosis code was recorded."), back=_detail_url(learner.pk, "diagnoses"))


@login_required
def diagnosis_withdraw(request, pk):
    diagnosis = access.get_visible_or_404(request.user, Diagnosis.objects.select_related("learner"), "write", pk=pk)
    form = forms.ReasonForm(request.POST or None)
    return _form_page(request, title=_("Withdraw the diagnosis code %(code)s") % {"code": diagnosis.code}, form=form,
                      learner=diagnosis.learner, danger=True,
                      perform=lambda d: services.withdraw_diagnosis(request.user, diagnosis, reason=d["reason"]),
                      success=_("The diagnosis code was withdrawn."), back=_detail_url(diagnosis.learner_id, "diagnoses"))


# --- enrolments and assignments ------------------------------------------------------------------------


@login_required
def enrolment_add(request, pk):
    learner = _learner_for(request, pk, Rec.ENROLMENT)
    form = forms.EnrolmentForm(request.POST or None, learner=learner, user=request.user)
    return _form_page(request, title=_("Enrol"), form=form, learner=learner,
                      perform=lambda d: services.enrol(request.user, learner, **d),
                      success=_("The enrolment was opened."), back=_detail_url(learner.pk, "enrolments"))


def _enrolment(request, pk) -> Enrolment:
    return access.get_visible_or_404(request.user, Enrolment.objects.select_related("learner", "learner__territory", "organization"),
                                     "write", pk=pk)


@login_required
def enrolment_edit(request, pk):
    enrolment = _enrolment(request, pk)
    initial = {f: getattr(enrolment, f) for f in services.ENROLMENT_DETAILS}
    form = forms.EnrolmentDetailsForm(request.POST or None, initial=initial)
    return _form_page(request, title=_("Change the enrolment at %(org)s") % {"org": enrolment.organization}, form=form,
                      learner=enrolment.learner,
                      perform=lambda d: services.update_enrolment(request.user, enrolment, **d),
                      success=_("The changes were saved."), back=_detail_url(enrolment.learner_id, "enrolments"))


@login_required
def enrolment_transfer(request, pk):
    enrolment = _enrolment(request, pk)
    initial = {f: getattr(enrolment, f) for f in services.ENROLMENT_DETAILS}
    form = forms.TransferForm(request.POST or None, initial=initial, learner=enrolment.learner, user=request.user)

    def perform(d):
        return services.transfer(request.user, enrolment, to_organization=d.pop("to_organization"),
                                 starts_on=d.pop("starts_on"), reason=d.pop("reason"), **d)

    def back(new):
        # The receiving organization may be out of the user's reach afterwards: go where they still can see.
        if Learner.objects.visible_to(request.user).filter(pk=enrolment.learner_id).exists():
            return _detail_url(enrolment.learner_id, "enrolments")
        return reverse("learners:list")

    return _form_page(request, title=_("Transfer from %(org)s") % {"org": enrolment.organization}, form=form,
                      learner=enrolment.learner,
                      intro=_("The current enrolment ends as transferred and a new one opens at the receiving organization; "
                              "both stay in the history."),
                      perform=perform, success=_("The learner was transferred."), back=back)


@login_required
def enrolment_end(request, pk, how):
    enrolment = _enrolment(request, pk)
    form = forms.EndWithDateForm(request.POST or None)
    if how == "complete":
        form.fields["reason"].required = False
        title = _("Complete the enrolment at %(org)s") % {"org": enrolment.organization}

        def perform(d):
            return services.complete_enrolment(request.user, enrolment, ends_on=d["ends_on"], reason=d["reason"])
    else:
        title = _("Record dropping out of %(org)s") % {"org": enrolment.organization}

        def perform(d):
            return services.drop_out(request.user, enrolment, ends_on=d["ends_on"], reason=d["reason"])
    return _form_page(request, title=title, form=form, learner=enrolment.learner, perform=perform, danger=how != "complete",
                      success=_("The enrolment was ended."), back=_detail_url(enrolment.learner_id, "enrolments"))


@login_required
def assignment_add(request, pk):
    learner = _learner(request, pk, "write")
    form = forms.AssignmentForm(request.POST or None, user=request.user)
    return _form_page(request, title=_("Assign a specialist or tutor"), form=form, learner=learner,
                      intro=_("The person assigned can then see this learner's records that their role allows."),
                      perform=lambda d: services.assign(request.user, learner, **d),
                      success=_("The assignment was made."), back=_detail_url(learner.pk, "assignments"))


@login_required
def assignment_end(request, pk):
    assignment = access.get_visible_or_404(request.user, Assignment.objects.select_related("learner", "user"), "write", pk=pk)
    form = forms.EndWithDateForm(request.POST or None)
    return _form_page(request, title=_("End the assignment of %(name)s") % {"name": assignment.user}, form=form,
                      learner=assignment.learner, danger=True,
                      perform=lambda d: services.end_assignment(request.user, assignment, reason=d["reason"], ends_on=d["ends_on"]),
                      success=_("The assignment was ended."), back=_detail_url(assignment.learner_id, "assignments"))


# --- roster import -------------------------------------------------------------------------------------


@login_required
def roster_import(request):
    if not access.can(request.user, "write", Rec.ENROLMENT):
        raise Http404
    form = forms.ImportForm(request.POST or None, request.FILES or None)
    report = stats = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            report, stats = rosters.import_roster(request.user, upload.name, upload.read(), valid_only=form.cleaned_data["valid_only"])
        except ImportFileError as exc:
            form.add_error("file", str(exc))
    return render(request, "learners/import.html", {"form": form, "report": report, "stats": stats})

