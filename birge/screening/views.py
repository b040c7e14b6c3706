"""Pages of functioning screening: start (date, respondent → questionnaire by age), the questionnaire
(server-side skips, works without JavaScript), the result, the learner's screenings, withdrawal.

Every record is fetched through the access policy (out of reach is a 404, write pages answer 404 to
those who may only read); every change goes through ``services``; every screening shown with its
answers or results writes a read event.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from birge.core import access
from birge.core.access import Rec
from birge.core.forms import ReasonForm
from birge.learners.forms import apply_errors
from birge.learners.models import Learner

from . import display, engine, forms, services
from .filters import ScreeningFilter
from .models import Screening, Status

PAGE_SIZE = 50


def _learner(request, pk, action="read") -> Learner:
    """The learner, when the user may read (or record, with action='write') their screenings; else 404."""
    learner = access.get_visible_or_404(request.user, Learner.objects.select_related("territory"), pk=pk)
    if not services.may(request.user, action, learner):
        raise Http404
    return learner


def _screening(request, pk, action="read") -> Screening:
    qs = Screening.objects.select_related("learner", "respondent_guardian", "organization", "recorded_by")
    return access.get_visible_or_404(request.user, qs, action, pk=pk)


def _query_without_page(request) -> str:
    q = request.GET.copy()
    q.pop("page", None)
    return q.urlencode()


def referral_url(user, learner) -> str | None:
    """Where to refer this learner to the PMPK (``/referrals/new/?learner=<id>``), when the user may."""
    if not access.can(user, "write", Rec.REFERRAL):
        return None
    try:
        return f"{reverse('referrals:create')}?learner={learner.pk}"
    except NoReverseMatch:  # the referrals app is not installed
        return None


# --- the learner's screenings --------------------------------------------------------------------


@login_required
def learner_screenings(request, learner_pk):
    learner = _learner(request, learner_pk)
    base = Screening.objects.visible_to(request.user).filter(learner=learner).select_related("recorded_by", "organization")
    filterset = ScreeningFilter(request.GET or None, queryset=base, request=request)
    qs = filterset.qs if filterset.is_valid() else base
    page = Paginator(qs.order_by("-interview_date", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    services.opened(request.user, [s for s in rows if s.status != Status.DRAFT])  # results are shown
    return render(request, "screening/learner_screenings.html", {
        "learner": learner, "page_obj": page, "screenings": [display.summary(s) for s in rows], "filter": filterset,
        "query_string": _query_without_page(request),
        "can_start": services.may(request.user, "write", learner) and learner.archived_at is None,
    })


# --- start ---------------------------------------------------------------------------------------


@login_required
def start(request, learner_pk):
    learner = _learner(request, learner_pk, "write")
    form = forms.StartForm(request.POST or None, learner=learner)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            screening = services.start_screening(
                request.user, learner, interview_date=data["interview_date"], respondent=data["respondent"],
                respondent_guardian=data.get("respondent_guardian"), respondent_name=data.get("respondent_name", ""))
        except ValidationError as exc:
            apply_errors(form, exc)
        except PermissionDenied:
            raise Http404 from None
        else:
            messages.success(request, _("The screening was started: answer the questions."))
            return redirect("screening:answers", pk=screening.pk)
    return render(request, "screening/start.html", {
        "learner": learner, "form": form, "suggested": services.suggested_instrument(learner),
        "instruments": [i for i in engine.all_instruments() if i.age_routing],
    })


# --- the questionnaire ---------------------------------------------------------------------------


def _first_open_question(instrument, answers) -> str:
    for item in engine.visible_items(instrument, answers):
        if item.code not in answers:
            return f"#q-{item.code}"
    return "#questionnaire-actions"


@login_required
def answers(request, pk):
    screening = _screening(request, pk, "write")
    if screening.status != Status.DRAFT:
        return redirect(screening)
    instrument = screening.definition
    if instrument is None:
        raise Http404
    current = dict(screening.answers)
    if request.method == "POST":
        form = forms.QuestionnaireForm(request.POST, instrument=instrument)
        if form.is_valid():
            current = engine.clean_answers(instrument, form.answers())
            finishing = request.POST.get("action") == "save"
            try:
                services.save_answers(request.user, screening, current)
                if finishing:
                    services.complete_screening(request.user, screening)
            except ValidationError as exc:
                form = forms.QuestionnaireForm(current, instrument=instrument)  # stale branches cleared
                form.is_valid()
                apply_errors(form, exc)
            except PermissionDenied:
                raise Http404 from None
            else:
                if finishing:
                    messages.success(request, _("The screening was completed."))
                    return redirect(screening)
                return redirect(reverse("screening:answers", args=[screening.pk]) + _first_open_question(instrument, current))
    else:
        form = forms.QuestionnaireForm(initial=current, instrument=instrument)
        services.opened(request.user, [screening])
    return render(request, "screening/answers.html", {
        "screening": screening, "learner": screening.learner, "instrument": instrument, "form": form,
        "questions": display.questions(form, instrument, current),
        "missing_values": " ".join(o.code for o in instrument.non_response),
    })


# --- result --------------------------------------------------------------------------------------


@login_required
def detail(request, pk):
    screening = _screening(request, pk)
    services.opened(request.user, [screening])
    learner = screening.learner
    can_write = screening.status != Status.WITHDRAWN and access.can_write(request.user, screening)
    return render(request, "screening/detail.html", {
        "screening": screening, "learner": learner, "result": display.result(screening),
        "answers": display.answer_rows(screening), "can_write": can_write,
        "referral_url": referral_url(request.user, learner) if screening.functional_difficulty else None,
    })


@login_required
def withdraw(request, pk):
    screening = _screening(request, pk, "write")
    if screening.status == Status.WITHDRAWN:
        return redirect(screening)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.withdraw_screening(request.user, screening, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            apply_errors(form, exc)
        except PermissionDenied:
            raise Http404 from None
        else:
            messages.success(request, _("The screening was withdrawn."))
            return redirect(screening)
    return render(request, "screening/form_page.html", {
        "title": _("Withdraw the screening"), "form": form, "learner": screening.learner, "danger": True,
        "intro": _("A screening recorded in error is withdrawn with the reason; it is kept in the history."),
        "submit": _("Withdraw the screening"), "cancel": screening.get_absolute_url(),
    })
