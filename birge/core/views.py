"""Pages of the core: home, organizations, territory, people, tokens, audit, health."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count, Q
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.generic import ListView

from . import audit, services
from .filters import OrganizationFilter, UserFilter
from .forms import AuditExportForm, MembershipForm, ReasonForm, TokenForm, UserCreateForm
from .home import sections_for
from .models import ApiToken, AuditEvent, Membership, Organization, Territory, User


@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        pending = MigrationExecutor(connection).migration_plan(MigrationExecutor(connection).loader.graph.leaf_nodes())
    except Exception:  # the database is down or unreadable
        return JsonResponse({"status": "unavailable", "database": False}, status=503)
    if pending:
        return JsonResponse({"status": "unavailable", "database": True, "migrations": "pending"}, status=503)
    return JsonResponse({"status": "ok", "database": True, "migrations": "applied"})


@login_required
def home(request):
    memberships = request.user.active_memberships()
    return render(request, "core/home.html", {"memberships": memberships, "sections": sections_for(request)})


class OrganizationList(LoginRequiredMixin, ListView):
    template_name = "core/organization_list.html"
    paginate_by = 50

    def get_queryset(self):
        self.filterset = OrganizationFilter(self.request.GET or None, queryset=Organization.objects.select_related("territory"))
        return self.filterset.qs if self.filterset.is_bound and self.filterset.is_valid() else self.filterset.queryset

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["filter"] = self.filterset
        ctx["query_string"] = _query_without_page(self.request)
        return ctx


def _query_without_page(request) -> str:
    q = request.GET.copy()
    q.pop("page", None)
    return q.urlencode()


@login_required
def organization_detail(request, pk):
    org = get_object_or_404(Organization.objects.select_related("territory", "territory__region", "territory__district"), pk=pk)
    staff_counts = org.memberships.values("role").annotate(n=Count("id")).order_by("role")
    return render(request, "core/organization_detail.html", {"org": org, "staff_counts": staff_counts})


@login_required
def territory(request, pk=None):
    unit = get_object_or_404(Territory, pk=pk) if pk else None
    children = Territory.objects.current().filter(parent=unit).annotate(n_orgs=Count("organizations"))
    ancestors = []
    node = unit.parent if unit else None
    while node is not None:
        ancestors.insert(0, node)
        node = node.parent
    orgs = Organization.objects.filter(territory=unit).order_by("kind", "name")[:200] if unit else []
    return render(request, "core/territory.html", {"unit": unit, "children": children, "ancestors": ancestors, "orgs": orgs})


@login_required
def tokens(request):
    new_key = None
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _token, new_key = services.issue_token(request.user, form.cleaned_data["name"])
        form = TokenForm()
    return render(
        request, "core/tokens.html",
        {"form": form, "new_key": new_key, "tokens": ApiToken.objects.filter(user=request.user)},
    )


@login_required
@require_POST
def token_revoke(request, pk):
    token = ApiToken.objects.filter(pk=pk, user=request.user).first()
    if token is None:
        raise Http404
    services.revoke_token(request.user, token)
    messages.success(request, _("The token was revoked."))
    return redirect("tokens")


class AdminRequiredMixin(LoginRequiredMixin):
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not services.is_admin(request.user):
            raise Http404
        return super().dispatch(request, *args, **kwargs)


def admin_required(view):
    @login_required
    def wrapped(request, *args, **kwargs):
        if not services.is_admin(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


class UserList(AdminRequiredMixin, ListView):
    template_name = "core/user_list.html"
    paginate_by = 50

    def get_queryset(self):
        self.filterset = UserFilter(self.request.GET or None, queryset=User.objects.prefetch_related("memberships__organization"))
        return self.filterset.qs if self.filterset.is_bound and self.filterset.is_valid() else self.filterset.queryset

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["filter"] = self.filterset
        ctx["query_string"] = _query_without_page(self.request)
        return ctx


@admin_required
def user_create(request):
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.create_user(request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The user was created. Add a role below; they set a password through password reset."))
            return redirect("user-detail", pk=user.pk)
    return render(request, "core/user_form.html", {"form": form})


@admin_required
def user_detail(request, pk):
    person = get_object_or_404(User, pk=pk)
    # Two forms on one page: only the one that was sent is bound (and may show errors).
    sent = request.POST if request.method == "POST" else None
    form = MembershipForm(sent if "add_membership" in request.POST else None, prefix="m",
                          initial={"starts_on": timezone.localdate()})
    active_form = ReasonForm(sent if "toggle_active" in request.POST else None, prefix="a")
    if request.method == "POST":
        try:
            if "add_membership" in request.POST and form.is_valid():
                services.add_membership(request.user, person, **form.cleaned_data)
                messages.success(request, _("The role was added."))
                return redirect("user-detail", pk=pk)
            if "toggle_active" in request.POST and active_form.is_valid():
                services.set_user_active(request.user, person, not person.is_active, active_form.cleaned_data["reason"])
                messages.success(request, _("The account was updated."))
                return redirect("user-detail", pk=pk)
        except ValidationError as exc:
            target = form if "add_membership" in request.POST else active_form
            for field, errs in exc.message_dict.items() if hasattr(exc, "error_dict") else [(None, exc.messages)]:
                target.add_error(field if field in target.fields else None, errs)
    history = AuditEvent.objects.filter(
        Q(object_type="core.user", object_id=str(person.pk))
        | Q(object_type="core.membership", object_id__in=[str(i) for i in person.memberships.values_list("pk", flat=True)])
    ).exclude(action__in=[AuditEvent.Action.LOGIN, AuditEvent.Action.LOGOUT]).order_by("-id")[:50]
    return render(
        request, "core/user_detail.html",
        {"person": person, "form": form, "active_form": active_form, "memberships": person.memberships.select_related("organization"),
         "history": history},
    )


@admin_required
@require_POST
def membership_end(request, pk, mpk):
    membership = get_object_or_404(Membership, pk=mpk, user_id=pk)
    form = ReasonForm(request.POST)
    if form.is_valid():
        services.end_membership(request.user, membership, reason=form.cleaned_data["reason"])
        messages.success(request, _("The role was ended."))
    else:
        messages.error(request, _("Give a reason to end the role."))
    return redirect("user-detail", pk=pk)


class _Echo:
    def write(self, value):
        return value


@admin_required
def audit_export(request):
    form = AuditExportForm(request.GET or None)
    if request.GET and form.is_valid():
        start, end = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
        events = AuditEvent.objects.filter(at__date__gte=start, at__date__lte=end).order_by("id")
        audit.record(request.user, AuditEvent.Action.EXPORT, None, event="audit.exported", object_type_label="core.auditevent",
                     changes={"from": start.isoformat(), "to": end.isoformat()})
        writer = csv.writer(_Echo())
        columns = ["id", "at", "actor_name", "request_id", "action", "event", "object_type", "object_id", "learner_id",
                   "changes", "reason", "prev_hash", "hash"]

        def rows():
            yield "\ufeff" + writer.writerow(columns)
            for e in events.iterator(chunk_size=2000):
                yield writer.writerow([e.id, e.at.isoformat(), e.actor_name, e.request_id, e.action, e.event, e.object_type,
                                       e.object_id, e.learner_id or "", e.changes, e.reason, e.prev_hash, e.hash])

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="audit-{start}-{end}.csv"'
        return response
    ok, checked, broken = audit.verify() if request.GET.get("verify") else (None, None, None)
    return render(request, "core/audit_export.html", {"form": form, "verified": ok, "checked": checked, "broken": broken,
                                                      "today": timezone.localdate()})


def not_found(request, exception=None):
    return render(request, "404.html", status=404)


def forbidden(request, exception=None):
    return render(request, "403.html", status=403)


def server_error(request):
    return render(request, "500.html", status=500)


__all__ = ["PermissionDenied", "HttpResponse"]
