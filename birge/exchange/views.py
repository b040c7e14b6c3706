"""Pages of agency registers, the clerical review queue and outreach to out-of-school children.

Every record is fetched through the access policy (out of reach is a 404); every change goes
through ``services``. Ids only in URLs, never personal data. Everything works without JavaScript.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from birge.core import access
from birge.core.access import Rec
from birge.core.models import AuditEvent, Territory
from birge.learners import services as learner_services
from birge.learners.models import Learner

from . import forms, labels, registers, services
from .filters import BatchFilter, CaseFilter, PairFilter, PersonFilter
from .models import (
    OPEN_OUTREACH_STATES, ImportBatch, ImportedPerson, ImportSource, LearnerMerge, LinkState, MatchLink, OutreachCase,
    OutreachState,
)

PAGE_SIZE = 50


def _query_without_page(request) -> str:
    q = request.GET.copy()
    q.pop("page", None)
    return q.urlencode()


def _page(request, qs):
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def _require_read(user, record_type=Rec.REGISTER):
    if not access.can(user, "read", record_type):
        raise Http404


def _filtered(filterset_class, request, base, data=None):
    filterset = filterset_class(data if data is not None else (request.GET or None), queryset=base, request=request)
    qs = filterset.qs if filterset.is_bound and filterset.is_valid() else base
    return filterset, qs


# --- sources ------------------------------------------------------------------------------------------


@login_required
def source_list(request):
    _require_read(request.user)
    sources = ImportSource.objects.order_by("name")
    return render(request, "exchange/source_list.html", {
        "sources": sources, "can_edit": access.can(request.user, "write", Rec.REGISTER), "fields": registers.FIELDS})


def _source_form_page(request, source=None):
    if not access.can(request.user, "write", Rec.REGISTER):
        raise Http404
    form = forms.SourceForm(request.POST or None, source=source)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.save_source(request.user, source, name=d["name"], kind=d["kind"], description=d["description"],
                                 column_mapping=form.mapping(), is_active=d["is_active"])
        except ValidationError as exc:
            forms.apply_errors(form, exc)
        else:
            messages.success(request, _("The source was saved."))
            return redirect("exchange:source-list")
    title = _("Change the source") if source else _("Add a source")
    return render(request, "exchange/form_page.html", {
        "title": title, "form": form, "submit": _("Save"), "cancel": reverse("exchange:source-list"),
        "intro": _("Give the column headings the agency's files use where they differ from Birge's field names; "
                   "the usual Russian and Kyrgyz headings are recognised without this.")})


@login_required
def source_create(request):
    return _source_form_page(request)


@login_required
def source_edit(request, pk):
    if not access.can(request.user, "write", Rec.REGISTER):
        raise Http404
    source = ImportSource.objects.filter(pk=pk).first()
    if source is None:
        raise Http404
    return _source_form_page(request, source)


# --- batches ------------------------------------------------------------------------------------------


@login_required
def batch_list(request):
    user = request.user
    _require_read(user)
    base = ImportBatch.objects.visible_to(user).select_related("source", "organization", "uploaded_by")
    filterset, qs = _filtered(BatchFilter, request, base)
    page = _page(request, qs.order_by("-uploaded_at", "-pk"))
    return render(request, "exchange/batch_list.html", {
        "filter": filterset, "page_obj": page, "batches": page.object_list, "query_string": _query_without_page(request),
        "can_import": services.can_import(user), "queue_count": services.review_queue(user).count()})


@login_required
def batch_upload(request):
    user = request.user
    if not services.can_import(user):
        raise Http404
    organizations = services.register_organizations(user)
    form = forms.UploadForm(request.POST or None, request.FILES or None, organizations=organizations)
    outcome = None
    duplicate = None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        upload = d["file"]
        try:
            outcome = services.import_file(
                user, source=d["source"], file_name=upload.name, data=upload.read(), legal_basis=d["legal_basis"],
                legal_reference=d["legal_reference"], purpose=d["purpose"], purpose_detail=d["purpose_detail"],
                valid_only=d["valid_only"], organization=d["organization"])
        except services.DuplicateFile as exc:
            duplicate = exc.existing
            forms.apply_errors(form, exc)
        except ValidationError as exc:
            forms.apply_errors(form, exc)
        except PermissionDenied:
            raise Http404 from None
        else:
            if outcome.committed:
                batch = outcome.batch
                messages.success(request, _("%(n)d rows were imported as batch %(id)s. Link them to the learners next.") % {
                    "n": batch.rows_imported, "id": batch.pk})
                return redirect(batch)
    status = 400 if request.method == "POST" else 200
    return render(request, "exchange/batch_upload.html", {
        "form": form, "outcome": outcome, "duplicate": duplicate, "field_labels": registers.FIELD_LABELS,
        "errors": outcome.report.errors[:500] if outcome else [], "error_total": len(outcome.report.errors) if outcome else 0,
    }, status=status)


def _batch(request, pk, action="read") -> ImportBatch:
    qs = ImportBatch.objects.select_related("source", "organization", "uploaded_by")
    return access.get_visible_or_404(request.user, qs, action, pk=pk)


@login_required
def batch_detail(request, pk):
    user = request.user
    batch = _batch(request, pk)
    base = ImportedPerson.objects.visible_to(user).filter(batch=batch).select_related("learner", "territory")
    data = request.GET.copy()
    data["batch"] = batch.pk
    filterset, qs = _filtered(PersonFilter, request, base, data)
    page = _page(request, qs.order_by("row_number"))
    counts = {s.replace("-", "_"): 0 for s in LinkState.values}
    for state, n in _state_counts(batch):
        counts[state.replace("-", "_")] = n
    can_write = access.can_write(user, batch)
    progress = (batch.link_stats or {}).get("progress") or {}
    counts["other_registers"] = services.in_other_registers(ImportedPerson.objects.visible_to(user).filter(batch=batch)).count()
    return render(request, "exchange/batch_detail.html", {
        "batch": batch, "filter": filterset, "page_obj": page, "persons": page.object_list,
        "query_string": _query_without_page(request), "counts": counts, "states": LinkState,
        "can_link": can_write and batch.status != ImportBatch.Status.WITHDRAWN,
        "can_withdraw": can_write and batch.status != ImportBatch.Status.WITHDRAWN,
        "running": progress.get("stage") not in (None, "done"), "progress": progress,
        "errors": (batch.report or {}).get("errors", [])[:200], "warnings": (batch.report or {}).get("warnings", [])[:200],
        "field_labels": registers.FIELD_LABELS, "history": _history(batch),
        "review_count": services.review_queue(user).filter(person__batch=batch).count(),
    })


def _state_counts(batch):
    from django.db.models import Count

    return batch.persons.values_list("link_state").annotate(n=Count("pk")).order_by()


def _history(obj, limit=50):
    return list(AuditEvent.objects.filter(object_type=f"{obj._meta.app_label}.{obj._meta.model_name}",
                                          object_id=str(obj.pk)).order_by("-id")[:limit])


@login_required
@require_POST
def batch_link(request, pk):
    batch = _batch(request, pk, "write")
    try:
        done = services.request_link(request.user, batch)
    except ValidationError as exc:
        for m in exc.messages:
            messages.error(request, m)
        return redirect(batch)
    if done:
        batch.refresh_from_db()
        s = batch.link_stats
        messages.success(request, _("Linkage done: %(linked)d rows linked, %(review)d sent to review, %(none)d without a "
                                    "match.") % {"linked": s.get("linked", 0), "review": s.get("review", 0),
                                                 "none": s.get("no_match", 0)})
    else:
        messages.success(request, _("The linkage run was queued; this page shows its progress."))
    return redirect(batch)


@login_required
def batch_withdraw(request, pk):
    batch = _batch(request, pk, "write")
    if batch.status == ImportBatch.Status.WITHDRAWN:
        raise Http404
    form = forms.ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.withdraw_batch(request.user, batch, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            forms.apply_errors(form, exc)
        else:
            messages.success(request, _("The batch was withdrawn."))
            return redirect(batch)
    return render(request, "exchange/form_page.html", {
        "title": _("Withdraw the batch"), "form": form, "submit": _("Withdraw the batch"), "danger": True,
        "cancel": batch.get_absolute_url(), "intro": _(
            "Its pairs leave the review queue and the same file may be imported again. Links already made stay "
            "in the history. Nothing is deleted.")})


# --- register rows ------------------------------------------------------------------------------------


def _person(request, pk, action="read") -> ImportedPerson:
    qs = ImportedPerson.objects.select_related("batch", "batch__source", "batch__organization", "territory", "learner")
    return access.get_visible_or_404(request.user, qs, action, pk=pk)


@login_required
def person_detail(request, pk):
    user = request.user
    person = _person(request, pk)
    services.opened(user, person)
    pairs = list(MatchLink.objects.visible_to(user).filter(person=person).select_related("learner").order_by("-score"))
    visible = _visible_learners(user, [p.learner_id for p in pairs] + [person.learner_id])
    for p in pairs:
        p.learner_visible = p.learner_id in visible
        p.reason_text = labels.reason_label(p.reason)
    can_register = (access.can_write(user, person) and person.link_state == LinkState.NO_MATCH
                    and person.batch.status != ImportBatch.Status.WITHDRAWN)
    same_child = services.same_child_rows(user, [person])[person.pk]
    return render(request, "exchange/person_detail.html", {
        "person": person, "pairs": pairs, "learner_visible": person.learner_id in visible, "same_child": same_child,
        "field_labels": registers.FIELD_LABELS, "can_register": can_register,
        "register_form": forms.RegisterPersonForm() if can_register else None,
        "details": [(registers.FIELD_LABELS.get(k, k), v) for k, v in (person.details or {}).items()
                    if k in registers.FIELD_LABELS],
    })


def _visible_learners(user, ids) -> set:
    ids = [i for i in ids if i]
    return set(Learner.objects.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()


@login_required
@require_POST
def person_register(request, pk):
    user = request.user
    person = _person(request, pk, "write")
    form = forms.RegisterPersonForm(request.POST)
    form.is_valid()
    try:
        learner = services.register_person(user, person, confirm_new=form.cleaned_data.get("confirm_new", False))
    except learner_services.PossibleDuplicates as exc:
        return render(request, "exchange/person_register.html", {
            "person": person, "form": form, "candidates": exc.candidates, "message": exc.messages[0]}, status=400)
    except ValidationError as exc:
        for m in exc.messages:
            messages.error(request, m)
        return redirect(person)
    except PermissionDenied:
        raise Http404 from None
    messages.success(request, _("The child was registered as a learner (record %(id)s).") % {"id": learner.pk})
    return redirect(person)


# --- clerical review ------------------------------------------------------------------------------------


@login_required
def review_queue(request):
    user = request.user
    _require_read(user)
    base = MatchLink.objects.visible_to(user).select_related("person", "person__batch", "learner").exclude(
        person__batch__status=ImportBatch.Status.WITHDRAWN)
    data = request.GET.copy()
    if not data.getlist("state"):
        data.setlist("state", [MatchLink.State.PENDING, MatchLink.State.UNSURE])
    filterset, qs = _filtered(PairFilter, request, base, data)
    if set(data.getlist("state")) <= {MatchLink.State.PENDING, MatchLink.State.UNSURE}:
        qs = qs.filter(person__link_state=LinkState.REVIEW)
    page = _page(request, qs.order_by("-score", "pk"))
    pairs = list(page.object_list)
    visible = _visible_learners(user, [p.learner_id for p in pairs])
    for p in pairs:
        p.learner_visible = p.learner_id in visible
        p.reason_text = labels.reason_label(p.reason)
    return render(request, "exchange/review_queue.html", {
        "filter": filterset, "page_obj": page, "pairs": pairs, "query_string": _query_without_page(request)})


FIELD_ROWS = [  # (label, register attribute, learner attribute, engine comparison)
    ("pin", "pin", "pin", "pin"),
    ("last_name", "last_name", "last_name", "family"),
    ("first_name", "first_name", "first_name", "first_name"),
    ("patronymic", "patronymic", "patronymic", "father"),
    ("birth_date", "birth_date", "birth_date", "birth_date"),
    ("sex", "get_sex_display", "get_sex_display", "sex"),
]


def comparison_rows(pair: MatchLink, learner_visible: bool) -> list[dict]:
    """One row per field: both values, the comparison's level and weight, and whether they agree."""
    levels = {name: (level, weight) for name, level, weight in (pair.fields or [])}
    person, learner = pair.person, pair.learner
    rows = []
    for key, p_attr, l_attr, comparison in FIELD_ROWS:
        level, weight = levels.get(comparison, ("", None))
        rows.append(_row(registers.FIELD_LABELS[key], _value(person, p_attr), _value(learner, l_attr) if learner_visible
                         else None, comparison, level, weight))
    p_place = person.territory.name if person.territory else ", ".join(
        v for v in (person.settlement, person.district, person.region) if v)
    level, weight = levels.get("territory", ("", None))
    rows.append(_row(labels.COMPARISON_LABELS["territory"], p_place,
                     learner.territory.name if learner_visible else None, "territory", level, weight))
    return rows


def _value(obj, attr):
    value = getattr(obj, attr, "")
    value = value() if callable(value) else value
    return value.isoformat() if hasattr(value, "isoformat") else (value or "")


def _row(label, left, right, comparison, level, weight):
    return {"label": label, "register": left, "learner": right, "comparison": labels.COMPARISON_LABELS.get(comparison, ""),
            "level": labels.level_label(level) if level else "", "weight": weight,
            "agreement": labels.agreement(level) if level else "unknown"}


def _pair(request, pk, action="read") -> MatchLink:
    qs = MatchLink.objects.select_related("person", "person__batch", "person__territory", "learner",
                                          "learner__territory", "decided_by", "via", "via__batch__source")
    return access.get_visible_or_404(request.user, qs, action, pk=pk)


@login_required
def pair_detail(request, pk):
    user = request.user
    pair = _pair(request, pk)
    services.opened(user, pair)
    learner_visible = bool(_visible_learners(user, [pair.learner_id]))
    allowed = services.allowed_decisions(user, pair)
    decision_form = undo_form = None
    choices = [(d, services.DECISIONS[d][1]) for d in allowed if d in services.DECISIONS]
    if choices:
        decision_form = forms.DecisionForm(choices=choices, prefix="d")
    if "undo" in allowed:
        undo_form = forms.ReasonForm(prefix="u")
    return _pair_page(request, pair, learner_visible, decision_form, undo_form)


def _pair_page(request, pair, learner_visible, decision_form, undo_form, status=200):
    rivals = MatchLink.objects.visible_to(request.user).filter(person=pair.person).exclude(pk=pair.pk).order_by("-score")
    return render(request, "exchange/pair_detail.html", {
        "pair": pair, "person": pair.person, "learner": pair.learner, "learner_visible": learner_visible,
        "rows": comparison_rows(pair, learner_visible), "reason_text": labels.reason_label(pair.reason),
        "decision_form": decision_form, "undo_form": undo_form, "rivals": rivals, "history": _history(pair),
        "via_visible": bool(pair.via_id and ImportedPerson.objects.visible_to(request.user).filter(pk=pair.via_id).exists()),
        "next_pair": services.review_queue(request.user).exclude(pk=pair.pk).order_by("-score", "pk").first(),
    }, status=status)


@login_required
@require_POST
def pair_decide(request, pk):
    user = request.user
    pair = _pair(request, pk, "write")
    allowed = services.allowed_decisions(user, pair)
    choices = [(d, services.DECISIONS[d][1]) for d in allowed if d in services.DECISIONS]
    if not choices:
        raise Http404
    form = forms.DecisionForm(request.POST, choices=choices, prefix="d")
    if form.is_valid():
        try:
            services.decide(user, pair, form.cleaned_data["decision"], reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            forms.apply_errors(form, exc)
        else:
            messages.success(request, _("Decision recorded: %(decision)s.") % {
                "decision": services.DECISIONS[form.cleaned_data["decision"]][1]})
            nxt = services.review_queue(user).order_by("-score", "pk").first()
            return redirect(nxt if nxt and request.POST.get("next") == "1" else pair)
    learner_visible = bool(_visible_learners(user, [pair.learner_id]))
    return _pair_page(request, pair, learner_visible, form, forms.ReasonForm(prefix="u") if "undo" in allowed else None,
                      status=400)


@login_required
@require_POST
def pair_undo(request, pk):
    user = request.user
    pair = _pair(request, pk, "write")
    allowed = services.allowed_decisions(user, pair)
    if "undo" not in allowed:
        raise Http404
    form = forms.ReasonForm(request.POST, prefix="u")
    if form.is_valid():
        try:
            services.undo(user, pair, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            forms.apply_errors(form, exc)
        else:
            messages.success(request, _("The decision was undone; the pair is back in the review queue."))
            return redirect(pair)
    learner_visible = bool(_visible_learners(user, [pair.learner_id]))
    choices = [(d, services.DECISIONS[d][1]) for d in allowed if d in services.DECISIONS]
    return _pair_page(request, pair, learner_visible, forms.DecisionForm(choices=choices, prefix="d") if choices else None,
                      form, status=400)


# --- outreach ---------------------------------------------------------------------------------------------


def with_clock(qs):
    """Annotate each case with its open contact clock's day (``due_on``)."""
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import OuterRef, Subquery

    from birge.core.deadline_models import Deadline

    clocks = Deadline.objects.filter(content_type=ContentType.objects.get_for_model(OutreachCase), object_id=OuterRef("pk"),
                                     met_at__isnull=True, cancelled_at__isnull=True).order_by("due_on")
    return qs.annotate(due_on=Subquery(clocks.values("due_on")[:1]))


def _mark_due(cases):
    from django.conf import settings
    from django.utils import timezone

    today = timezone.localdate()
    for c in cases:
        due = getattr(c, "due_on", None)
        if due is None:
            c.due_status, c.due_days = "", 0
        elif due < today:
            c.due_status, c.due_days = "overdue", (today - due).days
        elif (due - today).days <= settings.BIRGE_DUE_SOON_DAYS:
            c.due_status, c.due_days = "due-soon", (due - today).days
        else:
            c.due_status, c.due_days = "open", (due - today).days
    return cases


@login_required
def case_list(request):
    from django.db.models import Count, F

    user = request.user
    _require_read(user, Rec.OUTREACH)
    base = with_clock(OutreachCase.objects.visible_to(user).select_related(
        "learner", "territory", "assigned_organization"))
    filterset, qs = _filtered(CaseFilter, request, base)
    page = _page(request, qs.order_by(F("due_on").asc(nulls_last=True), "-opened_at", "pk"))
    counts = dict(OutreachCase.objects.visible_to(user).order_by().values_list("state").annotate(n=Count("pk")))
    summary = [(value, label, counts.get(value, 0)) for value, label in OutreachState.choices]
    return render(request, "exchange/case_list.html", {
        "filter": filterset, "page_obj": page, "cases": _mark_due(list(page.object_list)),
        "query_string": _query_without_page(request), "summary": summary,
        "open_total": sum(counts.get(s.value, 0) for s in OPEN_OUTREACH_STATES),
        "can_find": services.can_find_out_of_school(user)})


def _territories_in_reach(user):
    """Districts and municipalities within the user's territorial grants (all of them for national roles)."""
    prefixes = [g.territory_prefix for g in access.grants(user) if g.territory_prefix]
    territories = Territory.objects.current().exclude(level__in=Territory.TOP_LEVELS)
    if prefixes:
        q = Q(pk__in=[])
        for p in prefixes:
            q |= Q(code__startswith=p)
        territories = territories.filter(q)
    return territories


@login_required
def case_find(request):
    user = request.user
    if not services.can_find_out_of_school(user):
        raise Http404
    territories = _territories_in_reach(user)
    form = forms.FindForm(request.POST or None, territories=territories.order_by("code"))
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            result = services.find_out_of_school(user, territory=form.cleaned_data.get("territory"))
        except PermissionDenied:
            raise Http404 from None
        if result.opened:
            messages.success(request, _("%(n)d outreach case(s) were opened.") % {"n": len(result.opened)})
        else:
            messages.success(request, _("No new out-of-school child was found."))
        if not result.skipped:
            return redirect(reverse("exchange:case-list") + "?state=to-contact")
    return render(request, "exchange/case_find.html", {"form": form, "result": result})


def _case(request, pk, action="read") -> OutreachCase:
    qs = OutreachCase.objects.select_related("learner", "learner__territory", "territory", "assigned_organization",
                                             "informed_organization", "enrolment", "enrolment__organization", "moved_to",
                                             "found_in", "found_in__batch", "previous_case", "opened_by")
    return access.get_visible_or_404(request.user, qs, action, pk=pk)


@login_required
def case_detail(request, pk):
    from birge.core.deadline_models import Deadline
    from birge.referrals.models import Referral

    user = request.user
    case = _case(request, pk)
    actions = []
    for t in services.allowed_transitions(user, case):
        form = forms.TransitionForm(target=t.target, needs_reason=t.needs_reason, prefix=t.name)
        actions.append({"transition": t, "form": form, "url": reverse("exchange:case-transition", args=[case.pk, t.slug])})
    next_case = getattr(case, "next_case", None)
    clocks = list(Deadline.objects.for_object(case).order_by("started_at", "id"))
    for c in clocks:
        c.abs_days = abs(c.days_left)
    learner_visible = Learner.objects.visible_to(user).filter(pk=case.learner_id).exists()
    return render(request, "exchange/case_detail.html", {
        "case": case, "learner": case.learner, "learner_visible": learner_visible, "actions": actions, "clocks": clocks,
        "next_case": next_case if next_case and OutreachCase.objects.visible_to(user).filter(pk=next_case.pk).exists()
        else None,
        "found_in_visible": bool(case.found_in_id and ImportedPerson.objects.visible_to(user).filter(
            pk=case.found_in_id).exists()),
        "can_refer": case.is_open and learner_visible and learner_services.may(user, "write", Rec.REFERRAL, case.learner),
        "referrals": list(Referral.objects.visible_to(user).filter(learner=case.learner).order_by("-created_at")[:5]),
        "history": services.case_history(user, case),
    })


@login_required
@require_POST
def case_transition(request, pk, action):
    user = request.user
    case = _case(request, pk, "write")
    t = services.TRANSITIONS_BY_SLUG.get(action)
    if t is None or t not in services.allowed_transitions(user, case):
        raise Http404
    form = forms.TransitionForm(request.POST, target=t.target, needs_reason=t.needs_reason, prefix=t.name)
    if form.is_valid():
        try:
            services.transition(user, case, t.name, reason=form.cleaned_data.get("reason", ""),
                                moved_to=form.cleaned_data.get("moved_to"))
        except ValidationError as exc:
            forms.apply_errors(form, exc)
        else:
            messages.success(request, _("Done: %(action)s.") % {"action": t.label})
            return redirect(case)
    return render(request, "exchange/case_transition.html", {
        "case": case, "learner": case.learner, "transition": t, "form": form, "title": str(t.label),
        "action_url": reverse("exchange:case-transition", args=[case.pk, t.slug])}, status=400)


# --- duplicates -------------------------------------------------------------------------------------------


@login_required
def duplicate_list(request):
    user = request.user
    if not services.can_merge(user):
        raise Http404
    territories = _territories_in_reach(user)
    form = forms.FindForm(request.GET or None, territories=territories.order_by("code"))
    pairs = None
    if request.GET.get("run") and form.is_valid():
        pairs = services.find_duplicates(user, territory=form.cleaned_data.get("territory"))[:200]
        for p in pairs:
            p.reason_text = labels.reason_label(p.reason) if p.reason else ""
    merges = LearnerMerge.objects.visible_to(user).select_related("kept", "merged", "merged_by")[:20]
    return render(request, "exchange/duplicate_list.html", {"form": form, "pairs": pairs, "merges": merges})


def _learner_for_merge(request, pk) -> Learner:
    return access.get_visible_or_404(request.user, Learner.objects.select_related("territory"), "write", pk=pk,
                                     merged_into__isnull=True)


@login_required
def merge_page(request):
    user = request.user
    if not services.can_merge(user):
        raise Http404
    a = _learner_for_merge(request, request.GET.get("a") or request.POST.get("a"))
    b = _learner_for_merge(request, request.GET.get("b") or request.POST.get("b"))
    if a.pk == b.pk:
        raise Http404
    form = forms.MergeForm(request.POST or None, learners=(a, b), initial={"keep": str(min(a.pk, b.pk))})
    if request.method == "POST" and form.is_valid():
        kept, merged = (a, b) if form.cleaned_data["keep"] == str(a.pk) else (b, a)
        try:
            merge = services.merge_learners(user, kept, merged, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            forms.apply_errors(form, exc)
        except PermissionDenied:
            raise Http404 from None
        else:
            messages.success(request, _("The records were merged; the merge can be undone from this page."))
            return redirect(merge)
    fields = services.pair_comparison(a, b)
    levels = {name: (level, weight) for name, level, weight in fields}
    rows = []
    for key, p_attr, l_attr, comparison in FIELD_ROWS:
        level, weight = levels.get(comparison, ("", None))
        rows.append(_row(registers.FIELD_LABELS[key], _value(a, p_attr), _value(b, l_attr), comparison, level, weight))
    level, weight = levels.get("territory", ("", None))
    rows.append(_row(labels.COMPARISON_LABELS["territory"], a.territory.name, b.territory.name, "territory", level, weight))
    return render(request, "exchange/merge_form.html", {
        "a": a, "b": b, "rows": rows, "form": form, "preview_a": services.merge_preview(a),
        "preview_b": services.merge_preview(b)}, status=400 if request.method == "POST" else 200)


@login_required
def merge_detail(request, pk):
    user = request.user
    merge = access.get_visible_or_404(user, LearnerMerge.objects.select_related("kept", "merged", "merged_by", "undone_by"),
                                      pk=pk)
    can_undo = merge.undone_at is None and access.can_write(user, merge.kept)
    form = forms.ReasonForm(request.POST or None, prefix="u") if can_undo else None
    if request.method == "POST":
        if not can_undo:
            raise Http404
        if form.is_valid():
            try:
                services.undo_merge(user, merge, reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                forms.apply_errors(form, exc)
            else:
                messages.success(request, _("The merge was undone: both records are separate again."))
                return redirect(merge)
    return render(request, "exchange/merge_detail.html", {
        "merge": merge, "form": form, "moved": [(k, len(v)) for k, v in (merge.moved or {}).items()],
        "merged_visible": Learner.objects.visible_to(user).filter(pk=merge.merged_id).exists()},
        status=400 if request.method == "POST" else 200)
