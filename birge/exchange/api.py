"""API of agency registers, record linkage, the clerical review queue and outreach cases.

Reads go through ``visible_to`` (a record out of reach is a 404); writes call the services, so the
access policy, the checks, the audit trail and the deadlines are the same as on the pages.

* ``/api/v1/exchange/sources/`` — agency sources and their column mappings.
* ``/api/v1/exchange/batches/`` — import batches. ``POST`` either ``multipart/form-data`` with a
  ``file`` (CSV or XLSX, as on the page) or JSON with ``rows`` (a list of objects in Birge's field
  names): the two shapes an X-Road (Tunduk) adapter can serve (docs/exchange.md). Both carry the
  provenance: ``source``, ``legal_basis``, ``legal_reference``, ``purpose`` (and optionally
  ``purpose_detail``, ``external_reference`` — the sender's message id —, ``valid_only``).
  201 with the batch; 400 with ``report`` (every unusable row by line and column) when nothing was
  imported; 409 with ``batch`` (the earlier batch's id, when within reach) for a re-import.
  Actions: ``POST …/{id}/link/``, ``POST …/{id}/withdraw/`` (``reason``).
* ``/api/v1/exchange/rows/`` — imported rows (``batch``, ``link_state``, ``problems``, ``q``), each
  with ``same_child_rows``: the rows of the same child in other registers within the caller's reach;
  ``POST …/{id}/register/`` registers a row without a match as a learner.
* ``/api/v1/exchange/pairs/`` — candidate pairs with per-field levels and weights (``state``,
  ``reason``, ``batch``; ``?queue=1`` the review queue); ``POST …/{id}/decide/`` (``decision``:
  accept · reject · unsure, ``reason``), ``POST …/{id}/undo/`` (``reason``).
* ``/api/v1/exchange/outreach-cases/`` — outreach cases (``state``, ``open``, ``ground``, ``q``);
  ``POST …/find/`` (``territory``: a SOATE code, optional) opens cases for out-of-school children;
  one ``POST …/{id}/<step>/`` per step (``contacted``, ``referred-to-pmpk``, ``enrolled``,
  ``family-declined``, ``moved`` with ``moved_to``, ``not-found``, ``deceased``, ``reopen``) with
  ``reason``; ``GET …/{id}/history/``.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view, inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from birge.api.registry import route
from birge.core import access
from birge.core.access import Rec
from birge.core.models import AuditEvent, Organization, Territory
from birge.learners.models import Learner

from . import labels, registers, services
from .filters import BatchFilter, CaseFilter, PairFilter, PersonFilter
from .models import (
    AgencyKind, Decision, ImportBatch, ImportedPerson, ImportSource, LearnerMerge, LegalBasis, MatchLink, OutreachCase,
    LinkState, Purpose, SameChildRelation,
)

# --- sources --------------------------------------------------------------------------------------------


class SourceSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=AgencyKind.choices)
    column_mapping = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, help_text=_(
        "For each Birge field, the column heading the agency's files use for it."))

    class Meta:
        model = ImportSource
        fields = ["id", "name", "kind", "description", "column_mapping", "is_active", "created_at"]
        read_only_fields = ["created_at"]


@extend_schema_view(list=extend_schema(summary="Agency sources and the column headings their files use"),
                    create=extend_schema(summary="Add a source (social-protection officers)"),
                    partial_update=extend_schema(summary="Change a source"))
@route("exchange/sources", "exchange-source")
class SourceViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = SourceSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ImportSource.objects.none()
        if not access.can(self.request.user, "read", Rec.REGISTER):
            return ImportSource.objects.none()
        return ImportSource.objects.order_by("name")

    def create(self, request, *args, **kwargs):
        s = self.get_serializer(data=request.data)
        s.is_valid(raise_exception=True)
        source = services.save_source(request.user, **s.validated_data)
        return Response(self.get_serializer(source).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        source = self.get_object()
        s = self.get_serializer(source, data=request.data, partial=True)
        s.is_valid(raise_exception=True)
        data = {"name": source.name, "kind": source.kind, "description": source.description,
                "column_mapping": source.column_mapping, "is_active": source.is_active, **s.validated_data}
        source = services.save_source(request.user, source, **data)
        return Response(self.get_serializer(source).data)


# --- batches --------------------------------------------------------------------------------------------


class BatchSerializer(serializers.ModelSerializer):
    source = serializers.PrimaryKeyRelatedField(read_only=True)
    organization = serializers.SlugRelatedField(slug_field="code", read_only=True)
    uploaded_by = serializers.CharField(source="uploaded_by.username", read_only=True)
    counts = serializers.SerializerMethodField(help_text=_("Rows by linkage state."))

    class Meta:
        model = ImportBatch
        fields = ["id", "source", "organization", "file_name", "sha256", "via", "external_reference", "uploaded_by",
                  "uploaded_at", "legal_basis", "legal_reference", "purpose", "purpose_detail", "rows_total",
                  "rows_imported", "rows_rejected", "rows_with_warnings", "encoding", "report", "status", "linked_at",
                  "link_stats", "withdrawn_at", "withdraw_reason", "counts"]
        read_only_fields = fields

    def get_counts(self, obj) -> dict:
        from django.db.models import Count

        return dict(obj.persons.order_by().values_list("link_state").annotate(n=Count("pk")))


class _ProvenanceSerializer(serializers.Serializer):
    source = serializers.PrimaryKeyRelatedField(queryset=ImportSource.objects.filter(is_active=True))
    legal_basis = serializers.ChoiceField(choices=LegalBasis.choices)
    legal_reference = serializers.CharField(max_length=300, help_text=_(
        "Name, number and date of the act or agreement, or where the written consents are kept."))
    purpose = serializers.ChoiceField(choices=Purpose.choices)
    purpose_detail = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    external_reference = serializers.CharField(max_length=200, required=False, allow_blank=True, default="", help_text=_(
        "The sender's reference, e.g. the Tunduk (X-Road) message id."))
    valid_only = serializers.BooleanField(required=False, default=False, help_text=_(
        "Import the usable rows even if some rows cannot be used (they are listed in the batch's report)."))
    organization = serializers.SlugRelatedField(slug_field="code", queryset=Organization.objects.all(), required=False,
                                                allow_null=True, default=None, help_text=_(
                                                    "Code of the office importing (default: your first one)."))


class BatchFileSerializer(_ProvenanceSerializer):
    file = serializers.FileField(help_text=_("CSV (UTF-8 or Windows-1251) or XLSX, up to BIRGE_IMPORT max_file_mb "
                                             "(200 MB by default)."), validators=[registers.check_file_size])


class BatchRowsSerializer(_ProvenanceSerializer):
    file_name = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    rows = serializers.ListField(child=serializers.DictField(), allow_empty=False, help_text=_(
        "Objects with Birge's field names: id, pin, last_name, first_name, patronymic, birth_date, sex, region, "
        "district, settlement, and a register's details (disability_category, disability_from, disability_until, "
        "certificate_number, concern, address)."))


class ExchangeReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


REPORT = inline_serializer("ImportReport", {
    "non_field_errors": serializers.ListField(child=serializers.CharField()),
    "report": inline_serializer("ImportReportBody", {
        "total": serializers.IntegerField(), "written": serializers.IntegerField(),
        "committed": serializers.BooleanField(), "encoding": serializers.CharField(),
        "errors": serializers.ListField(child=inline_serializer("ImportRowError", {
            "line": serializers.IntegerField(), "field": serializers.CharField(), "message": serializers.CharField()})),
    }),
})
DUPLICATE = inline_serializer("DuplicateImport", {
    "detail": serializers.CharField(), "code": serializers.CharField(),
    "batch": serializers.IntegerField(allow_null=True)})


@extend_schema_view(
    list=extend_schema(summary="Import batches you may see"),
    retrieve=extend_schema(summary="An import batch: provenance, counts, per-row report, linkage statistics"),
    create=extend_schema(
        summary="Import a register: a file (multipart) or rows (JSON)",
        request={"multipart/form-data": BatchFileSerializer, "application/json": BatchRowsSerializer},
        responses={201: BatchSerializer, 400: OpenApiResponse(REPORT, description=_(
            "Nothing was imported: a field map, or the rows that cannot be used.")),
                   409: OpenApiResponse(DUPLICATE, description=_("The same content was imported before."))}),
)
@route("exchange/batches", "exchange-batch")
class BatchViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = BatchSerializer
    filterset_class = BatchFilter
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ImportBatch.objects.none()
        return ImportBatch.objects.visible_to(self.request.user).select_related("source", "organization", "uploaded_by")

    def create(self, request, *args, **kwargs):
        user = request.user
        if not services.can_import(user):
            raise PermissionDenied(_("Your role does not allow importing registers."))
        is_file = "file" in request.FILES or (request.content_type or "").startswith("multipart/")
        s = (BatchFileSerializer if is_file else BatchRowsSerializer)(data=request.data)
        s.is_valid(raise_exception=True)
        d = dict(s.validated_data)
        common = {k: d[k] for k in ("source", "legal_basis", "legal_reference", "purpose", "purpose_detail", "valid_only",
                                    "external_reference", "organization")}
        try:
            if is_file:
                upload = d["file"]
                outcome = services.import_file(user, file_name=upload.name, data=upload.read(),
                                               via=ImportBatch.Via.API_FILE, **common)
            else:
                outcome = services.import_rows(user, rows=d["rows"], file_name=d["file_name"], **common)
        except services.DuplicateFile as exc:
            return Response({"detail": exc.messages[0], "code": "duplicate",
                             "batch": exc.existing.pk if exc.existing else None}, status=status.HTTP_409_CONFLICT)
        if not outcome.committed:
            n = len(outcome.report.bad_lines)
            return Response({"non_field_errors": [str(_("Nothing was imported: %(n)d row(s) cannot be used.") % {"n": n})],
                             "report": outcome.report.as_dict()}, status=status.HTTP_400_BAD_REQUEST)
        batch = self.get_queryset().get(pk=outcome.batch.pk)
        return Response(self.get_serializer(batch).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: BatchSerializer, 202: BatchSerializer}, filters=False,
                   summary="Link the batch to the learners (202: queued for the task worker; poll the batch)")
    @action(detail=True, methods=["post"], filter_backends=[])
    def link(self, request, pk=None):
        batch = self.get_object()
        done = services.request_link(request.user, batch)
        body = self.get_serializer(self.get_queryset().get(pk=batch.pk)).data
        return Response(body, status=status.HTTP_200_OK if done else status.HTTP_202_ACCEPTED)

    @extend_schema(request=ExchangeReasonSerializer, responses={200: BatchSerializer}, filters=False,
                   summary="Withdraw a batch imported by mistake")
    @action(detail=True, methods=["post"], filter_backends=[])
    def withdraw(self, request, pk=None):
        batch = self.get_object()
        s = ExchangeReasonSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.withdraw_batch(request.user, batch, reason=s.validated_data["reason"])
        return Response(self.get_serializer(self.get_queryset().get(pk=batch.pk)).data)


# --- rows -----------------------------------------------------------------------------------------------


class SameChildRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="person.pk", help_text=_("The other row's id."))
    batch = serializers.IntegerField(source="person.batch_id")
    row_number = serializers.IntegerField(source="person.row_number")
    source_kind = serializers.ChoiceField(source="person.batch.source.kind", choices=AgencyKind.choices)
    relation = serializers.ChoiceField(choices=SameChildRelation.choices, help_text=_(
        "The same child (linked from the link threshold, directly or through other rows) or possibly the same "
        "child (their own pair between the thresholds)."))
    score = serializers.FloatField(allow_null=True, help_text=_(
        "Match probability of the two rows' own pair; null when they are linked through other rows."))
    link_state = serializers.ChoiceField(source="person.link_state", choices=LinkState.choices)


class PersonSerializer(serializers.ModelSerializer):
    territory = serializers.SlugRelatedField(slug_field="code", read_only=True)
    learner = serializers.SerializerMethodField(help_text=_("The linked learner's id (null when none or out of reach)."))
    linked = serializers.SerializerMethodField()
    same_child_rows = serializers.SerializerMethodField(help_text=_(
        "Rows of the same child in other registers that you may see."))

    class Meta:
        model = ImportedPerson
        fields = ["id", "batch", "row_number", "record_id", "pin", "last_name", "first_name", "patronymic", "birth_date",
                  "sex", "region", "district", "settlement", "territory", "details", "raw", "problems", "link_state",
                  "linked", "learner", "link_method", "link_score", "same_child_rows"]
        read_only_fields = fields

    @extend_schema_field(SameChildRowSerializer(many=True))
    def get_same_child_rows(self, obj) -> list[dict]:
        rows = self.context.get("same_child")
        if rows is None:
            request = self.context.get("request")
            rows = services.same_child_rows(request.user, [obj])
        return SameChildRowSerializer(rows.get(obj.pk, []), many=True).data

    def get_learner(self, obj) -> int | None:
        visible = self.context.get("visible_learners")
        if obj.learner_id is None:
            return None
        if visible is None:
            request = self.context.get("request")
            visible = set(Learner.objects.visible_to(request.user).filter(pk=obj.learner_id).values_list("pk", flat=True))
        return obj.learner_id if obj.learner_id in visible else None

    def get_linked(self, obj) -> bool:
        return obj.learner_id is not None


class RegisterSerializer(serializers.Serializer):
    confirm_new = serializers.BooleanField(required=False, default=False, help_text=_(
        "Register even though learners with the same birth date and a similar name exist."))


@extend_schema_view(list=extend_schema(summary="Imported register rows you may see"),
                    retrieve=extend_schema(summary="An imported row (opening it is recorded)"))
@route("exchange/rows", "exchange-row")
class PersonViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = PersonSerializer
    filterset_class = PersonFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ImportedPerson.objects.none()
        return ImportedPerson.objects.visible_to(self.request.user).select_related("territory").order_by("batch", "row_number")

    def get_serializer_context(self):
        ctx = super().get_serializer_context()
        if getattr(self, "_page_learners", None) is not None:
            ctx["visible_learners"] = self._page_learners
            ctx["same_child"] = self._same_child
        return ctx

    def list(self, request, *args, **kwargs):
        qs = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(qs)
        ids = [p.learner_id for p in page if p.learner_id]
        self._page_learners = set(Learner.objects.visible_to(request.user).filter(pk__in=ids).values_list("pk", flat=True))
        self._same_child = services.same_child_rows(request.user, page)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        person = self.get_object()
        services.opened(request.user, person)
        return Response(self.get_serializer(person).data)

    @extend_schema(request=RegisterSerializer, responses={201: inline_serializer("Registered", {
        "learner": serializers.IntegerField()}), 400: OpenApiResponse(description=_(
            "Not possible now, or likely duplicates (their ids in `candidates`)."))}, filters=False,
        summary="Register the child of a row without a match as a learner")
    @action(detail=True, methods=["post"], filter_backends=[])
    def register(self, request, pk=None):
        from birge.learners import services as learner_services

        person = self.get_object()
        s = RegisterSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        try:
            learner = services.register_person(request.user, person, confirm_new=s.validated_data["confirm_new"])
        except learner_services.PossibleDuplicates as exc:
            return Response({"non_field_errors": exc.messages, "candidates": [c.pk for c in exc.candidates]},
                            status=status.HTTP_400_BAD_REQUEST)
        return Response({"learner": learner.pk}, status=status.HTTP_201_CREATED)


# --- pairs ----------------------------------------------------------------------------------------------


class PairSerializer(serializers.ModelSerializer):
    learner = serializers.SerializerMethodField(help_text=_("The learner's id (null when out of your reach)."))
    batch = serializers.IntegerField(source="person.batch_id", read_only=True)
    comparisons = serializers.SerializerMethodField(help_text=_(
        "Per field: the comparison, its level (code and words) and its weight in bits."))
    reason_text = serializers.SerializerMethodField()
    decided_by = serializers.CharField(source="decided_by.username", read_only=True, default=None)
    allowed_actions = serializers.SerializerMethodField()
    via = serializers.SerializerMethodField(help_text=_(
        "For a pair made through another register: the id of the same child's row there that is linked to this "
        "learner (null when none or out of your reach)."))

    class Meta:
        model = MatchLink
        fields = ["id", "person", "batch", "learner", "score", "weight", "method", "reason", "reason_text", "comparisons",
                  "state", "created_at", "decided_by", "decided_at", "decision_reason", "allowed_actions", "via"]
        read_only_fields = fields

    def get_via(self, obj) -> int | None:
        if obj.via_id is None:
            return None
        visible = self.context.get("visible_rows")
        if visible is None:
            request = self.context.get("request")
            return obj.via_id if ImportedPerson.objects.visible_to(request.user).filter(pk=obj.via_id).exists() else None
        return obj.via_id if obj.via_id in visible else None

    def _visible(self, obj) -> bool:
        visible = self.context.get("visible_learners")
        if visible is None:
            request = self.context.get("request")
            return Learner.objects.visible_to(request.user).filter(pk=obj.learner_id).exists()
        return obj.learner_id in visible

    def get_learner(self, obj) -> int | None:
        return obj.learner_id if self._visible(obj) else None

    def get_comparisons(self, obj) -> list[dict]:
        return [{"comparison": name, "level": level, "level_text": labels.level_label(level), "weight": weight,
                 "agreement": labels.agreement(level)} for name, level, weight in (obj.fields or [])]

    def get_reason_text(self, obj) -> str:
        return labels.reason_label(obj.reason)

    def get_allowed_actions(self, obj) -> list[str]:
        request = self.context.get("request")
        return services.allowed_decisions(request.user, obj) if request else []


class DecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Decision.choices)
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="", help_text=_(
        "Required to reject or to mark unsure."))


@extend_schema_view(list=extend_schema(summary="Candidate pairs (?queue=1: the clerical review queue)"),
                    retrieve=extend_schema(summary="A pair with its per-field comparison (opening it is recorded)"))
@route("exchange/pairs", "exchange-pair")
class PairViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = PairSerializer
    filterset_class = PairFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return MatchLink.objects.none()
        user = self.request.user
        if self.action == "list" and self.request.query_params.get("queue") == "1":
            qs = services.review_queue(user)
        else:
            qs = MatchLink.objects.visible_to(user)
        return qs.select_related("person", "decided_by").order_by("-score", "pk")

    def list(self, request, *args, **kwargs):
        qs = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(qs)
        ids = [p.learner_id for p in page]
        ctx = self.get_serializer_context()
        ctx["visible_learners"] = set(Learner.objects.visible_to(request.user).filter(pk__in=ids).values_list("pk", flat=True))
        via = [p.via_id for p in page if p.via_id]
        ctx["visible_rows"] = set(ImportedPerson.objects.visible_to(request.user).filter(pk__in=via)
                                  .values_list("pk", flat=True)) if via else set()
        return self.get_paginated_response(PairSerializer(page, many=True, context=ctx).data)

    def retrieve(self, request, *args, **kwargs):
        pair = self.get_object()
        services.opened(request.user, pair)
        return Response(self.get_serializer(pair).data)

    @extend_schema(request=DecisionSerializer, responses={200: PairSerializer}, filters=False,
                   summary="Decide a pair: accept (the same child), reject (different children), unsure")
    @action(detail=True, methods=["post"], filter_backends=[])
    def decide(self, request, pk=None):
        pair = self.get_object()
        s = DecisionSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.decide(request.user, pair, s.validated_data["decision"], reason=s.validated_data["reason"])
        return Response(self.get_serializer(MatchLink.objects.get(pk=pair.pk)).data)

    @extend_schema(request=ExchangeReasonSerializer, responses={200: PairSerializer}, filters=False,
                   summary="Undo a decision or an automatic link: the pair returns to the queue")
    @action(detail=True, methods=["post"], filter_backends=[])
    def undo(self, request, pk=None):
        pair = self.get_object()
        s = ExchangeReasonSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.undo(request.user, pair, reason=s.validated_data["reason"])
        return Response(self.get_serializer(MatchLink.objects.get(pk=pair.pk)).data)


# --- outreach cases -------------------------------------------------------------------------------------


class CaseSerializer(serializers.ModelSerializer):
    learner_name = serializers.CharField(source="learner.full_name", read_only=True)
    birth_date = serializers.DateField(source="learner.birth_date", read_only=True)
    territory = serializers.SlugRelatedField(slug_field="code", read_only=True)
    assigned_organization = serializers.SlugRelatedField(slug_field="code", read_only=True)
    informed_organization = serializers.SlugRelatedField(slug_field="code", read_only=True)
    moved_to = serializers.SlugRelatedField(slug_field="code", read_only=True)
    next_case = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField(help_text=_("The steps you may take now (their URL slugs)."))

    class Meta:
        model = OutreachCase
        fields = ["id", "learner", "learner_name", "birth_date", "ground", "found_in", "territory", "assigned_organization",
                  "informed_organization", "state", "opened_at", "contacted_at", "closed_at", "note", "outcome_reason",
                  "enrolment", "moved_to", "previous_case", "next_case", "allowed_actions"]
        read_only_fields = fields

    def get_next_case(self, obj) -> int | None:
        nxt = OutreachCase.objects.filter(previous_case=obj).values_list("pk", flat=True).first()
        return nxt

    def get_allowed_actions(self, obj) -> list[str]:
        request = self.context.get("request")
        return [t.slug for t in services.allowed_transitions(request.user, obj)] if request else []


class StepSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    moved_to = serializers.SlugRelatedField(slug_field="code", queryset=Territory.objects.current(), required=False,
                                            allow_null=True, default=None, help_text=_(
                                                "SOATE code of the new territory (for `moved`)."))


class FindSerializer(serializers.Serializer):
    territory = serializers.SlugRelatedField(slug_field="code", queryset=Territory.objects.current(), required=False,
                                             allow_null=True, default=None)


class CaseHistorySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", "at", "actor_name", "action", "event", "object_type", "object_id", "changes", "reason"]


def _step_endpoint(name: str):
    t = services.OUTREACH_TRANSITIONS[name]

    def endpoint(self, request, pk=None):
        case = self.get_object()
        s = StepSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.transition(request.user, case, name, **s.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=case.pk)).data)

    endpoint.__name__ = name
    endpoint = action(detail=True, methods=["post"], url_path=t.slug, url_name=t.slug, filter_backends=[])(endpoint)
    return extend_schema(request=StepSerializer, filters=False, summary=str(t.label),
                         description=f"{' | '.join(t.sources)} → {t.target}.",
                         responses={200: CaseSerializer, 400: OpenApiResponse(description=_(
                             "Not possible in this state, or invalid input: a field map.")),
                                    403: OpenApiResponse(description=_("Your role may not take this step.")),
                                    404: OpenApiResponse(description=_("No such case within your reach."))})(endpoint)


@extend_schema_view(list=extend_schema(summary="Outreach cases you may see: the local self-government's work list"),
                    retrieve=extend_schema(summary="An outreach case"))
@route("exchange/outreach-cases", "exchange-outreach-case")
class CaseViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = CaseSerializer
    filterset_class = CaseFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return OutreachCase.objects.none()
        return OutreachCase.objects.visible_to(self.request.user).select_related(
            "learner", "territory", "assigned_organization", "informed_organization", "moved_to").order_by("-opened_at", "-pk")

    @extend_schema(request=FindSerializer, filters=False, summary="Find out-of-school children and open their cases",
                   responses={200: inline_serializer("FindResult", {
                       "opened": serializers.ListField(child=serializers.IntegerField()),
                       "skipped": serializers.ListField(child=inline_serializer("FindSkipped", {
                           "learner": serializers.IntegerField(), "message": serializers.CharField()}))})})
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def find(self, request):
        if not services.can_find_out_of_school(request.user):
            raise PermissionDenied(_("Your role does not allow opening outreach cases."))
        s = FindSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        result = services.find_out_of_school(request.user, territory=s.validated_data["territory"])
        return Response({"opened": [c.pk for c in result.opened],
                         "skipped": [{"learner": lid, "message": m} for lid, m in result.skipped]})

    contact = _step_endpoint("contact")
    refer = _step_endpoint("refer")
    enrol = _step_endpoint("enrol")
    decline = _step_endpoint("decline")
    move = _step_endpoint("move")
    not_found = _step_endpoint("not_found")
    deceased = _step_endpoint("deceased")
    reopen = _step_endpoint("reopen")

    @extend_schema(responses={200: CaseHistorySerializer(many=True)}, filters=False,
                   summary="The case's audit trail (with its contact clock)")
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def history(self, request, pk=None):
        case = self.get_object()
        return Response(CaseHistorySerializer(services.case_history(request.user, case), many=True).data)


# --- duplicates and merges ------------------------------------------------------------------------------


class DuplicatePairSerializer(serializers.Serializer):
    a = serializers.IntegerField(source="a.pk", help_text=_("Id of the older record."))
    b = serializers.IntegerField(source="b.pk")
    score = serializers.FloatField()
    reason = serializers.CharField()
    comparisons = serializers.SerializerMethodField()

    def get_comparisons(self, obj) -> list[dict]:
        return [{"comparison": name, "level": level, "level_text": labels.level_label(level), "weight": weight,
                 "agreement": labels.agreement(level)} for name, level, weight in obj.fields]


@extend_schema_view(list=extend_schema(
    summary="Likely duplicate learners within your reach (?territory=SOATE code); nothing is merged automatically",
    parameters=[OpenApiParameter("territory", str, description="SOATE code of a district or municipality")]))
@route("exchange/duplicates", "exchange-duplicate")
class DuplicateViewSet(viewsets.ViewSet):
    serializer_class = DuplicatePairSerializer

    def list(self, request):
        if not services.can_merge(request.user):
            raise PermissionDenied(_("Your role does not allow merging learner records."))
        territory = None
        code = request.query_params.get("territory")
        if code:
            territory = Territory.objects.current().filter(code=code).first()
            if territory is None:
                return Response({"territory": [str(_("No current territory has this code."))]},
                                status=status.HTTP_400_BAD_REQUEST)
        pairs = services.find_duplicates(request.user, territory=territory)[:500]
        return Response(DuplicatePairSerializer(pairs, many=True).data)


class MergeSerializer(serializers.ModelSerializer):
    merged_by = serializers.CharField(source="merged_by.username", read_only=True)
    undone_by = serializers.CharField(source="undone_by.username", read_only=True, default=None)

    class Meta:
        model = LearnerMerge
        fields = ["id", "kept", "merged", "score", "moved", "pin_moved", "reason", "merged_by", "merged_at", "undone_by",
                  "undone_at", "undo_reason"]
        read_only_fields = fields


@extend_schema_field(OpenApiTypes.INT)
class WritableLearnerField(serializers.PrimaryKeyRelatedField):
    """A learner id the user may change; others do not exist here."""

    def get_queryset(self):
        request = self.context.get("request")
        if request is None:
            return Learner.objects.none()
        return Learner.objects.visible_to(request.user, "write").filter(merged_into__isnull=True)


class MergeCreateSerializer(serializers.Serializer):
    kept = WritableLearnerField(help_text=_("Id of the record to keep."))
    merged = WritableLearnerField(help_text=_("Id of the record merged into it."))
    reason = serializers.CharField(max_length=2000)


@extend_schema_view(list=extend_schema(summary="Merges of learner records (reversible)"),
                    retrieve=extend_schema(summary="A merge and the records it moved"),
                    create=extend_schema(summary="Merge two records of one child", request=MergeCreateSerializer,
                                         responses={201: MergeSerializer}))
@route("exchange/merges", "exchange-merge")
class MergeViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = MergeSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return LearnerMerge.objects.none()
        return LearnerMerge.objects.visible_to(self.request.user).select_related("merged_by", "undone_by")

    def create(self, request, *args, **kwargs):
        if not services.can_merge(request.user):
            raise PermissionDenied(_("Your role does not allow merging learner records."))
        s = MergeCreateSerializer(data=request.data, context=self.get_serializer_context())
        s.is_valid(raise_exception=True)
        d = s.validated_data
        merge = services.merge_learners(request.user, d["kept"], d["merged"], reason=d["reason"])
        return Response(self.get_serializer(merge).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ExchangeReasonSerializer, responses={200: MergeSerializer}, filters=False,
                   summary="Undo a merge: every record moves back")
    @action(detail=True, methods=["post"], filter_backends=[])
    def undo(self, request, pk=None):
        merge = self.get_object()
        s = ExchangeReasonSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.undo_merge(request.user, merge, reason=s.validated_data["reason"])
        return Response(self.get_serializer(LearnerMerge.objects.get(pk=merge.pk)).data)
