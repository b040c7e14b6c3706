"""Pages of PMPK assessment. Records are fetched through the access policy (out of reach is a 404);
every change goes through ``services``; opening a session or a conclusion is recorded."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext as _
from django.views.decorators.http import require_POST

from birge.core import access, documents
from birge.core.access import Rec
from birge.core.roles import Role
from birge.learners.models import Consent, Guardian, Learner

from . import forms, integration, services
from .filters import ConclusionFilter, SessionFilter
from .models import AssessmentSession, CatalogueItem, Conclusion, Finding, Release, SessionMember

# --- helpers ----------------------------------------------------------------------------------------


def allowed_in_menu(user) -> bool:
    return access.can(user, "read", Rec.CONCLUSION) or access.can(user, "read", Rec.ASSESSMENT)


def _session(request, pk, action="read") -> AssessmentSession:
    qs = AssessmentSession.objects.select_related("learner", "pmpk", "referral")
    return access.get_visible_or_404(request.user, qs, action, pk=pk)


def _conclusion(request, pk, action="read") -> Conclusion:
    qs = Conclusion.objects.select_related("learner", "pmpk", "session", "issued_by", "supersedes")
    return access.get_visible_or_404(request.user, qs, action, pk=pk)


def _query_without_page(request) -> str:
    q = request.GET.copy()
    q.pop("page", None)
    return q.urlencode()


def _page(request, qs, per_page=50):
    from django.core.paginator import Paginator

    return Paginator(qs, per_page).get_page(request.GET.get("page"))


def _form_page(request, *, title, form, perform, success, back, cancel, intro="", submit=None, danger=False,
               context=None, template="assessments/form_page.html", aliases=None):
    """Show a form; on a valid POST call the service; show its errors on the form (nothing half-saved)."""
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
    ctx = {"title": title, "form": form, "intro": intro, "submit": submit or title, "danger": danger, "cancel": cancel}
    ctx.update(context or {})
    return render(request, template, ctx)


def _items_by_kind(conclusion, language=None):
    groups = {kind: [] for kind, _label in CatalogueItem.Kind.choices}
    for item in conclusion.items.select_related("catalogue").order_by("position", "id"):
        item.label = item.catalogue.name_in(language or get_language())
        groups[item.kind].append(item)
    return [(kind, label, groups[kind]) for kind, label in CatalogueItem.Kind.choices]


def _members(session):
    return list(session.members.select_related("user"))


# --- home and index -----------------------------------------------------------------------------------


def _family_section(request):
    user = request.user
    if not user.has_role(Role.PARENT):
        return None
    conclusions = list(Conclusion.objects.visible_to(user).filter(status=Conclusion.Status.ISSUED)
                       .select_related("learner").prefetch_related("releases__organization"))
    if not conclusions:
        return None
    for c in conclusions:
        c.active_releases = [r for r in c.releases.all() if r.revoked_at is None and r.consent.is_active]
    return {"template": "assessments/home_family.html", "conclusions": conclusions}


def _pmpk_section(request):
    user = request.user
    pmpks = services.pmpk_organizations(user)
    if not pmpks:
        return None
    now = timezone.now()
    sessions = AssessmentSession.objects.visible_to(user).filter(status=AssessmentSession.Status.SCHEDULED)
    drafts = Conclusion.objects.visible_to(user).filter(status=Conclusion.Status.DRAFT)
    return {"template": "assessments/home_pmpk.html",
            "to_schedule": integration.referrals_to_schedule(user)[:10],
            "upcoming": sessions.filter(scheduled_at__gte=now - dt.timedelta(hours=12)).select_related("learner").order_by("scheduled_at")[:10],
            "past_due": sessions.filter(scheduled_at__lt=now - dt.timedelta(hours=12)).count(),
            "drafts": drafts.select_related("learner").order_by("created_at")[:10],
            "is_chair": any(services.is_chair(user, p) for p in pmpks)}


def _organization_section(request):
    user = request.user
    org_ids = [g.organization_id for g in access.grants(user)
               if g.organization_id and access.permission(g.role, Rec.CONCLUSION) != "-"
               and g.role not in (Role.PMPK_CHAIR, Role.PMPK_MEMBER)]
    if not org_ids:
        return None
    releases = list(Release.objects.visible_to(user).filter(organization_id__in=org_ids, revoked_at__isnull=True)
                    .select_related("conclusion__learner", "organization").order_by("-released_at")[:20])
    obligations = integration.obligations_for(releases)
    return {"template": "assessments/home_organization.html", "releases": releases, "obligations": obligations}


def home_sections():
    return [(30, _pmpk_section), (32, _family_section), (34, _organization_section)]


@login_required
def index(request):
    user = request.user
    if not allowed_in_menu(user):
        raise Http404
    sections = [s for s in (_pmpk_section(request), _family_section(request), _organization_section(request)) if s]
    return render(request, "assessments/index.html", {"sections": sections,
                                                      "can_see_sessions": access.can(user, "read", Rec.ASSESSMENT),
                                                      "can_record_paper": user.has_role(Role.SCHOOL_COORDINATOR)})


@login_required
def catalogue(request):
    items = CatalogueItem.objects.filter(is_active=True).order_by("kind", "position")
    groups = {}
    for item in items:
        groups.setdefault(item.kind, []).append(item)
    return render(request, "assessments/catalogue.html",
                  {"groups": [(k, label, groups.get(k, [])) for k, label in CatalogueItem.Kind.choices]})


# --- sessions -----------------------------------------------------------------------------------------


@login_required
def session_list(request):
    if not access.can(request.user, "read", Rec.ASSESSMENT):
        raise Http404
    base = AssessmentSession.objects.visible_to(request.user).select_related("learner", "pmpk")
    filterset = SessionFilter(request.GET or None, queryset=base)
    qs = filterset.qs if filterset.is_bound and filterset.is_valid() else base
    return render(request, "assessments/session_list.html", {
        "filter": filterset, "page_obj": _page(request, qs.order_by("-scheduled_at", "-pk")),
        "query_string": _query_without_page(request),
        "to_schedule": integration.referrals_to_schedule(request.user)[:50],
    })


@login_required
def session_schedule(request, referral_pk):
    referral = integration.get_referral_or_404(request.user, referral_pk)
    pmpk = integration.referral_pmpk(referral)
    if pmpk is None or not services.may_run_sessions(request.user, pmpk.pk):
        raise Http404
    staff = services.pmpk_staff(pmpk)
    form = forms.SessionForm(request.POST or None)
    initial = None if request.POST else [{"user": request.user.pk, "is_chair": request.user.has_role(Role.PMPK_CHAIR)}]
    rows = forms.member_formset(staff, request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid() & rows.is_valid():
        members = [(r["user"], r["specialty"], r.get("is_chair")) for r in rows.cleaned_data if r.get("user")]
        try:
            session = services.schedule_session(request.user, referral, members=members, **form.cleaned_data)
        except ValidationError as exc:
            _members_errors(form, rows, exc)
        except PermissionDenied:
            raise Http404 from None
        else:
            messages.success(request, _("The session was scheduled and the family invited."))
            return redirect("assessments:session-detail", pk=session.pk)
    return render(request, "assessments/session_schedule.html",
                  {"form": form, "rows": rows, "referral": referral, "learner": integration.referral_learner(referral)})


def _members_errors(form, rows, exc):
    if hasattr(exc, "error_dict") and "members" in exc.error_dict:
        messages_ = exc.message_dict.pop("members")
        rows._non_form_errors = rows.error_class(messages_)
        rest = {k: v for k, v in exc.message_dict.items() if k != "members"}
        if rest:
            forms.apply_errors(form, ValidationError(rest))
        elif not form.errors:
            form.add_error(None, messages_)
        return
    forms.apply_errors(form, exc)


@login_required
def session_detail(request, pk):
    session = _session(request, pk)
    services.open_session(request.user, session)
    can_write = services.may_run_sessions(request.user, session.pmpk_id)
    findings = Finding.objects.visible_to(request.user).filter(session=session).select_related("member__user")
    conclusions = Conclusion.objects.visible_to(request.user).filter(session=session)
    return render(request, "assessments/session_detail.html", {
        "session": session, "members": _members(session), "findings": findings, "conclusions": conclusions,
        "can_write": can_write, "is_scheduled": session.status == AssessmentSession.Status.SCHEDULED,
        "is_held": session.status == AssessmentSession.Status.HELD,
        "can_conclude": can_write and session.status == AssessmentSession.Status.HELD
        and services.may_write_conclusions(request.user, session.pmpk_id),
    })


def _session_for_write(request, pk) -> AssessmentSession:
    session = _session(request, pk, "write")
    if not services.may_run_sessions(request.user, session.pmpk_id):
        raise Http404
    return session


@login_required
def session_reschedule(request, pk):
    session = _session_for_write(request, pk)
    initial = {k: getattr(session, k) for k in ("mode", "place", "remote_details", "invitation_note")}
    initial["scheduled_at"] = timezone.localtime(session.scheduled_at)
    form = forms.SessionForm(request.POST or None, initial=initial)
    form.fields.pop("invite_family")
    back = reverse("assessments:session-detail", args=[pk])
    return _form_page(request, title=_("Move the session"), form=form, back=back, cancel=back,
                      success=_("The session was moved and the family told."),
                      perform=lambda d: services.reschedule_session(request.user, session, **d),
                      context={"session": session})


@login_required
def session_member_add(request, pk):
    session = _session_for_write(request, pk)
    form = forms.MemberForm(request.POST or None, staff=services.pmpk_staff(session.pmpk))
    back = reverse("assessments:session-detail", args=[pk])
    return _form_page(request, title=_("Add a member"), form=form, back=back, cancel=back,
                      success=_("The member was added."),
                      perform=lambda d: services.add_member(request.user, session, **d), context={"session": session})


@login_required
@require_POST
def session_member_remove(request, pk, member_pk):
    session = _session_for_write(request, pk)
    member = access.get_visible_or_404(request.user, SessionMember.objects.filter(session=session), "write", pk=member_pk)
    try:
        services.remove_member(request.user, member)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The member was taken off the session."))
    return redirect("assessments:session-detail", pk=pk)


@login_required
def finding_add(request, pk):
    session = _session_for_write(request, pk)
    initial = {}
    own = session.members.filter(user=request.user).first()
    if own:
        initial["member"] = own.pk
    form = forms.FindingForm(request.POST or None, session=session, initial=initial)
    back = reverse("assessments:session-detail", args=[pk]) + "#findings"
    return _form_page(request, title=_("Record a finding"), form=form, back=back, cancel=back,
                      success=_("The finding was recorded."), submit=_("Save the finding"),
                      perform=lambda d: services.record_finding(request.user, session, **d), context={"session": session})


@login_required
def finding_edit(request, pk, finding_pk):
    session = _session_for_write(request, pk)
    finding = access.get_visible_or_404(request.user, Finding.objects.filter(session=session), "write", pk=finding_pk)
    initial = {k: getattr(finding, k) for k in ("domain", "difficulty", "text", "strengths")}
    initial["member"] = finding.member_id
    form = forms.FindingForm(request.POST or None, session=session, initial=initial)
    form.fields["member"].disabled = True
    back = reverse("assessments:session-detail", args=[pk]) + "#findings"

    def perform(d):
        d.pop("member", None)
        return services.update_finding(request.user, finding, **d)

    return _form_page(request, title=_("Change a finding"), form=form, back=back, cancel=back,
                      success=_("The finding was changed."), perform=perform, context={"session": session})


@login_required
def session_held(request, pk):
    session = _session_for_write(request, pk)
    form = forms.HeldForm(request.POST or None, initial={"sources": session.sources or []})
    back = reverse("assessments:session-detail", args=[pk])
    return _form_page(request, title=_("Record the session as held"), form=form, back=back, cancel=back,
                      success=_("The session was recorded as held; the referral is now assessed."),
                      intro=_("Record who came and what the findings are based on. Findings can still be added "
                              "until the conclusion is issued."),
                      perform=lambda d: services.record_held(request.user, session, **d), context={"session": session})


@login_required
def session_cancel(request, pk):
    session = _session_for_write(request, pk)
    form = forms.ReasonForm(request.POST or None)
    back = reverse("assessments:session-detail", args=[pk])
    return _form_page(request, title=_("Cancel the session"), form=form, back=back, cancel=back, danger=True,
                      success=_("The session was cancelled and the family told."),
                      perform=lambda d: services.cancel_session(request.user, session, **d), context={"session": session})


@login_required
@require_POST
def conclusion_start(request, pk):
    session = _session_for_write(request, pk)
    try:
        conclusion = services.start_conclusion(request.user, session)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("assessments:session-detail", pk=pk)
    except PermissionDenied:
        raise Http404 from None
    messages.success(request, _("A draft conclusion was started."))
    return redirect("assessments:conclusion-edit", pk=conclusion.pk)


# --- conclusions ---------------------------------------------------------------------------------------


@login_required
def conclusion_list(request):
    if not access.can(request.user, "read", Rec.CONCLUSION):
        raise Http404
    base = Conclusion.objects.visible_to(request.user).select_related("learner", "pmpk")
    filterset = ConclusionFilter(request.GET or None, queryset=base)
    qs = filterset.qs if filterset.is_bound and filterset.is_valid() else base
    return render(request, "assessments/conclusion_list.html", {
        "filter": filterset, "page_obj": _page(request, qs.order_by("-issued_at", "-pk")),
        "query_string": _query_without_page(request)})


@login_required
def conclusion_detail(request, pk):
    conclusion = _conclusion(request, pk)
    services.open_conclusion(request.user, conclusion)
    user = request.user
    can_write = services.may_write_conclusions(user, conclusion.pmpk_id)
    releases = Release.objects.visible_to(user).filter(conclusion=conclusion).select_related("organization", "consent")
    releases = list(releases)
    is_family = services.family_guardian(user, conclusion.learner) is not None
    return render(request, "assessments/conclusion_detail.html", {
        "c": conclusion, "groups": _items_by_kind(conclusion), "releases": releases,
        "obligations": integration.obligations_for([r for r in releases if r.revoked_at is None]),
        "findings": _findings_for(user, conclusion),
        "can_write": can_write, "is_chair": services.is_chair(user, conclusion.pmpk_id), "is_family": is_family,
        "can_release": conclusion.status == Conclusion.Status.ISSUED and (is_family or can_write),
        "can_revoke": is_family or can_write,
        "history": _history(user, conclusion),
    })


def _findings_for(user, conclusion):
    if not conclusion.session_id:
        return []
    return list(Finding.objects.visible_to(user).filter(session_id=conclusion.session_id).select_related("member__user"))


def _history(user, conclusion):
    """The chain of conclusions this one superseded (each stays as it was), as far as the user may see."""
    chain, node = [], conclusion.supersedes
    while node is not None and len(chain) < 20:
        chain.append(node)
        node = node.supersedes
    visible = set(Conclusion.objects.visible_to(user).filter(pk__in=[c.pk for c in chain]).values_list("pk", flat=True))
    return [c for c in chain if c.pk in visible]


def _conclusion_for_write(request, pk) -> Conclusion:
    conclusion = _conclusion(request, pk, "write")
    if not services.may_write_conclusions(request.user, conclusion.pmpk_id):
        raise Http404
    return conclusion


@login_required
def conclusion_edit(request, pk):
    """The conclusion builder: the header fields and the rows of recommendations (add/remove without JS)."""
    conclusion = _conclusion_for_write(request, pk)
    if conclusion.status != Conclusion.Status.DRAFT:
        messages.error(request, str(services.ISSUED_MESSAGE))
        return redirect("assessments:conclusion-detail", pk=pk)
    fields = {k: getattr(conclusion, k) for k in services.CONCLUSION_FIELDS}
    items = [{k: getattr(i, k) for k in ("catalogue", "minutes_per_week", "sessions_per_month", "detail")}
             for i in conclusion.items.order_by("position", "id")]
    extra = 2
    if request.method == "POST":
        if "add_row" in request.POST or "remove_rows" in request.POST:
            # Add an empty row or drop the ticked rows without JavaScript: show the page again, nothing saved.
            form = forms.ConclusionForm(initial={k: request.POST.get(k) for k in services.CONCLUSION_FIELDS})
            form.initial["with_tutor"] = bool(request.POST.get("with_tutor"))
            rows = forms.item_formset(initial=_posted_rows(request.POST), extra=1 if "add_row" in request.POST else 0)
            return render(request, "assessments/conclusion_edit.html",
                          {"c": conclusion, "form": form, "rows": rows, "findings": _findings_for(request.user, conclusion)})
        form = forms.ConclusionForm(request.POST)
        rows = forms.item_formset(request.POST)
        if form.is_valid() & rows.is_valid():
            try:
                with transaction.atomic():
                    services.update_conclusion(request.user, conclusion, **form.cleaned_data)
                    services.set_items(request.user, conclusion, rows.rows())
            except ValidationError as exc:
                conclusion.refresh_from_db()
                _builder_errors(form, rows, exc)
            except PermissionDenied:
                raise Http404 from None
            else:
                messages.success(request, _("The draft was saved."))
                if "save_issue" in request.POST:
                    return redirect("assessments:conclusion-issue", pk=pk)
                return redirect("assessments:conclusion-edit", pk=pk)
    else:
        form = forms.ConclusionForm(initial=fields)
        rows = forms.item_formset(initial=items, extra=extra)
    return render(request, "assessments/conclusion_edit.html",
                  {"c": conclusion, "form": form, "rows": rows, "findings": _findings_for(request.user, conclusion)})


def _posted_rows(data) -> list[dict]:
    """The builder's rows as posted, without those ticked for removal (for re-showing the page)."""
    try:
        total = min(int(data.get("items-TOTAL_FORMS", 0)), 80)
    except ValueError:
        total = 0
    out = []
    for i in range(total):
        if data.get(f"items-{i}-DELETE"):
            continue
        row = {k: data.get(f"items-{i}-{k}") or None for k in ("catalogue", "minutes_per_week", "sessions_per_month", "detail")}
        if any(row.values()):
            out.append(row)
    return out


def _builder_errors(form, rows, exc):
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    filled = [f for f in rows.forms if (getattr(f, "cleaned_data", None) or {}).get("catalogue")
              and not f.cleaned_data.get("DELETE")]
    rest = {}
    for key, msgs in exc.message_dict.items():
        if key.startswith("items-"):
            _prefix, index, field = key.split("-", 2)
            index = int(index)
            if index < len(filled):
                target = filled[index]
                target.add_error(field if field in target.fields else None, msgs)
                continue
        rest[key] = msgs
    if rest:
        forms.apply_errors(form, ValidationError(rest))
    if not form.errors and any(f.errors for f in rows.forms):
        form.add_error(None, _("Check the recommendations marked below."))


@login_required
def conclusion_issue(request, pk):
    conclusion = _conclusion_for_write(request, pk)
    if conclusion.status != Conclusion.Status.DRAFT:
        raise Http404
    chair = services.is_chair(request.user, conclusion.pmpk_id)
    errors = []
    if request.method == "POST":
        try:
            services.issue_conclusion(request.user, conclusion)
        except ValidationError as exc:
            errors = _error_lines(exc)
        except PermissionDenied:
            raise Http404 from None
        else:
            messages.success(request, _("The conclusion was issued to the family."))
            return redirect("assessments:conclusion-detail", pk=pk)
    return render(request, "assessments/conclusion_issue.html",
                  {"c": conclusion, "groups": _items_by_kind(conclusion), "is_chair": chair, "errors": errors})


def _error_lines(exc) -> list[str]:
    if hasattr(exc, "error_dict"):
        labels = {f.name: f.verbose_name for f in Conclusion._meta.fields}
        out = []
        for field, msgs in exc.message_dict.items():
            label = labels.get(field)
            out += [f"{label}: {m}" if label else m for m in msgs]
        return out
    return list(exc.messages)


@login_required
def conclusion_withdraw(request, pk):
    conclusion = _conclusion_for_write(request, pk)
    form = forms.ReasonForm(request.POST or None)
    back = reverse("assessments:conclusion-detail", args=[pk])
    return _form_page(request, title=_("Withdraw the conclusion"), form=form, back=back, cancel=back, danger=True,
                      success=_("The conclusion was withdrawn."),
                      intro=_("A withdrawn conclusion stays on record with the reason. Its releases end."),
                      perform=lambda d: services.withdraw_conclusion(request.user, conclusion, **d),
                      context={"c": conclusion})


@login_required
@require_POST
def conclusion_supersede(request, pk):
    conclusion = _conclusion_for_write(request, pk)
    try:
        draft = services.supersede_conclusion(request.user, conclusion)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("assessments:conclusion-detail", pk=pk)
    messages.success(request, _("A new draft was started. Once issued it supersedes the conclusion in force, which is kept."))
    return redirect("assessments:conclusion-edit", pk=draft.pk)


def _document_context(conclusion, user, language):
    return {"c": conclusion, "groups": _items_by_kind(conclusion, language),
            "members": _members(conclusion.session) if conclusion.session_id else [],
            "findings": _findings_for(user, conclusion), "today": timezone.localdate()}


def _document_language(request, conclusion) -> str:
    lang = request.GET.get("lang") or conclusion.family_language
    return lang if lang in documents.DOCUMENT_LANGUAGES else conclusion.family_language


@login_required
def conclusion_document(request, pk):
    """The conclusion as an accessible page, in the family's language: the same body as the PDF."""
    conclusion = _conclusion(request, pk)
    if conclusion.status == Conclusion.Status.DRAFT and not services.may_write_conclusions(request.user, conclusion.pmpk_id):
        raise Http404
    services.open_conclusion(request.user, conclusion)
    lang = _document_language(request, conclusion)
    names = dict(settings.LANGUAGES)
    context = _document_context(conclusion, request.user, lang)
    context.update(document_language=lang, for_pdf=False,
                   other_languages=[(code, names[code]) for code in documents.DOCUMENT_LANGUAGES if code != lang])
    response = render(request, "assessments/conclusion_document_page.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
def conclusion_pdf(request, pk):
    conclusion = _conclusion(request, pk)
    services.open_conclusion(request.user, conclusion)
    lang = _document_language(request, conclusion)
    pdf = documents.render_pdf("assessments/conclusion_document.html", _document_context(conclusion, request.user, lang), lang,
                               base_url=request.build_absolute_uri("/"))
    name = f"conclusion-{conclusion.number or conclusion.pk}-{lang}.pdf"
    return documents.pdf_response(pdf, name)


# --- releases -------------------------------------------------------------------------------------------


@login_required
def conclusion_release(request, pk):
    """The family releases the conclusion to the organization they chose (consent given here); the PMPK may
    record a signed paper consent on the family's behalf."""
    conclusion = _conclusion(request, pk)
    user = request.user
    if conclusion.status != Conclusion.Status.ISSUED or not services.may_release(user, conclusion):
        raise Http404
    organizations = services.release_targets().order_by("name")
    back = reverse("assessments:conclusion-detail", args=[pk])
    if services.family_guardian(user, conclusion.learner) is not None:
        form = forms.ReleaseForm(request.POST or None, organizations=organizations)

        def perform(d):
            org = d["organization"]
            existing = services.active_release_consents(conclusion.learner, org).first() if not d["give_consent"] else None
            return services.release_conclusion(user, conclusion, organization=org, consent=existing,
                                               give_consent=d["give_consent"])

        return _form_page(request, title=_("Release the conclusion"), form=form, back=back, cancel=back,
                          success=_("The conclusion was released. The organization now sees it and must act on it."),
                          intro=_("Until you release it, no school or kindergarten sees this conclusion. You can "
                                  "take it back at any time."),
                          perform=perform, context={"c": conclusion}, aliases={"consent": "give_consent"})
    guardians = Guardian.objects.filter(links__learner=conclusion.learner, links__ends_on__isnull=True,
                                        links__is_legal_representative=True).distinct()
    form = forms.PaperReleaseForm(request.POST or None, request.FILES or None, organizations=organizations,
                                  guardians=guardians)

    def perform_paper(d):
        return services.release_conclusion(user, conclusion, organization=d["organization"], paper_consent={
            "given_by": d["given_by"], "given_at": d["given_at"], "document": d.get("document")})

    return _form_page(request, title=_("Record the family's release"), form=form, back=back, cancel=back,
                      success=_("The family's consent was recorded and the conclusion released."),
                      intro=_("Use this when the parent signed the consent on paper."), perform=perform_paper,
                      context={"c": conclusion, "multipart": True}, aliases={"method": "given_by"})


@login_required
def release_revoke(request, pk):
    release = access.get_visible_or_404(request.user, Release.objects.select_related("conclusion__learner", "organization"),
                                        pk=pk)
    if not services.may_revoke(request.user, release) or release.revoked_at is not None:
        raise Http404
    form = forms.ReasonForm(request.POST or None)
    back = reverse("assessments:conclusion-detail", args=[release.conclusion_id])
    return _form_page(request, title=_("Take the conclusion back"), form=form, back=back, cancel=back, danger=True,
                      success=_("The release was revoked and the consent withdrawn: the organization no longer sees the "
                                "conclusion."),
                      intro=_("%(org)s will no longer see the conclusion and its obligations end.") % {
                          "org": release.organization},
                      perform=lambda d: services.revoke_release(request.user, release, **d), context={"release": release})


@login_required
def released(request):
    """The organization's view: conclusions released to it and the obligations they created."""
    user = request.user
    org_ids = [g.organization_id for g in access.grants(user) if g.organization_id
               and access.permission(g.role, Rec.CONCLUSION) != "-" and g.role not in (Role.PMPK_CHAIR, Role.PMPK_MEMBER)]
    if not org_ids:
        raise Http404
    qs = (Release.objects.visible_to(user).filter(organization_id__in=org_ids, revoked_at__isnull=True)
          .select_related("conclusion__learner", "organization", "consent").order_by("-released_at"))
    page = _page(request, qs)
    releases = list(page)
    return render(request, "assessments/released.html", {
        "page_obj": page, "releases": releases, "obligations": integration.obligations_for(releases),
        "query_string": _query_without_page(request), "can_record_paper": user.has_role(Role.SCHOOL_COORDINATOR)})


@login_required
def release_by_number(request):
    """A coordinator records a release from the paper conclusion and the family's signed consent."""
    user = request.user
    org_ids = [g.organization_id for g in access.grants(user) if g.organization_id and g.role == Role.SCHOOL_COORDINATOR]
    if not org_ids:
        raise Http404
    learner = None
    if request.GET.get("learner") or request.POST.get("learner"):
        learner = access.get_visible_or_404(user, Learner.objects.all(), pk=request.GET.get("learner") or request.POST.get("learner"))
    consents = (Consent.objects.visible_to(user).filter(purpose=Consent.Purpose.RELEASE_CONCLUSION, recipient_id__in=org_ids,
                                                        withdrawn_at__isnull=True, learner=learner)
                .select_related("recipient") if learner else Consent.objects.none())
    form = forms.ReleaseByNumberForm(request.POST or None, consents=consents)
    back = reverse("assessments:released")

    def perform(d):
        return services.release_by_number(user, learner, number=d["number"], consent=d["consent"])

    return _form_page(request, title=_("Record a conclusion the family brought"), form=form, cancel=back,
                      back=lambda r: reverse("assessments:conclusion-detail", args=[r.conclusion_id]),
                      success=_("The conclusion was released to your organization."),
                      intro=_("The family brought the paper conclusion and signed the consent to release it to your "
                              "organization. Record the consent on the learner's page, then the conclusion's number here."),
                      perform=perform, template="assessments/release_by_number.html",
                      context={"learner": learner, "learners": Learner.objects.visible_to(user).filter(
                          consents__purpose=Consent.Purpose.RELEASE_CONCLUSION, consents__recipient_id__in=org_ids,
                          consents__withdrawn_at__isnull=True).distinct()[:200] if learner is None else []})

