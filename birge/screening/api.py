"""API of functioning screening.

* ``/api/v1/screenings/`` — the screenings the user may see (each one returned is recorded as
  opened), recording one (``POST``: started, answered and by default completed in one request),
  saving a draft's answers or completing it (``POST …/{id}/answers/``) and withdrawing one with a
  reason (``POST …/{id}/withdraw/``). Reads through ``visible_to``, writes through ``services``.
* ``/api/v1/screening/instruments/`` — the questionnaire definitions (the JSON files, as data).
* ``POST /api/v1/screening/score/`` — stateless scoring for other systems: nothing is stored and
  no person is named. Requires authentication (an API token or a signed-in session), no role.

Errors keep the project's field map; answers are named inside ``answers``:
``{"answers": {"CF99": ["This question is not part of the questionnaire."]}}``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from birge.api.registry import extra, route
from birge.core import access
from birge.core.models import Organization
from birge.learners.api import ReasonSerializer, VisibleGuardianField, VisibleLearnerField

from . import engine, services
from .filters import ScreeningApiFilter
from .models import Respondent, Screening


def _instrument_codes():
    return [(i.code, str(i.title.en)) for i in engine.all_instruments()]


def _field_map(exc: ValidationError, known: set[str]) -> dict:
    """A service's ValidationError as the API's field map, answers (question codes) nested under ``answers``."""
    if not hasattr(exc, "error_dict"):
        return {"non_field_errors": [str(m) for m in exc.messages]}
    data: dict = {}
    nested: dict = {}
    for field, messages in exc.message_dict.items():
        messages = [str(m) for m in messages]
        if field == "__all__":
            data["non_field_errors"] = messages
        elif field in known:
            data[field] = messages
        else:
            nested[field] = messages
    if nested:  # question codes (CF1 … / seeing …) never clash with the request's fields
        data["answers"] = nested
    return data


def _bad_request(exc: ValidationError) -> Response:
    return Response(_field_map(exc, KNOWN_FIELDS), status=status.HTTP_400_BAD_REQUEST)


# --- screenings ----------------------------------------------------------------------------------


class ScreeningSerializer(serializers.ModelSerializer):
    learner = serializers.PrimaryKeyRelatedField(read_only=True)
    respondent_guardian = serializers.PrimaryKeyRelatedField(read_only=True)
    organization = serializers.SlugRelatedField(slug_field="code", read_only=True)
    recorded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    domains = serializers.DictField(child=serializers.BooleanField(allow_null=True), read_only=True, help_text=_(
        "Domain code → true (difficulty), false (none) or null (indeterminate); empty until completed."))

    class Meta:
        model = Screening
        fields = ["id", "learner", "instrument", "instrument_version", "instrument_hash", "interview_date", "age_years",
                  "respondent", "respondent_guardian", "respondent_name", "organization", "recorded_by", "status", "answers",
                  "domains", "functional_difficulty", "domain_count", "disability_1", "disability_2", "disability_3",
                  "disability_4", "missing", "created_at", "completed_at", "withdrawn_at", "withdraw_reason", "is_synthetic"]
        read_only_fields = fields


class ScreeningCreateSerializer(serializers.Serializer):
    learner = VisibleLearnerField(help_text=_("Id of the learner."))
    interview_date = serializers.DateField(help_text=_(
        "The questionnaire is chosen by the learner's age in completed years on this date."))
    respondent = serializers.ChoiceField(choices=Respondent.choices)
    respondent_guardian = VisibleGuardianField(required=False, allow_null=True, help_text=_(
        "Id of the guardian who answered (one of the learner's current guardians)."))
    respondent_name = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    organization = serializers.SlugRelatedField(slug_field="code", queryset=Organization.objects.all(), required=False,
                                                allow_null=True, help_text=_(
                                                    "Code of the organization on whose behalf you record (default: your first one)."))
    instrument = serializers.ChoiceField(choices=_instrument_codes(), required=False, allow_null=True, help_text=_(
        "Leave out to use the questionnaire for the age; if given, it must apply at that age."))
    answers = serializers.JSONField(help_text=_("Question code → answer code, e.g. {\"CF1\": \"no\", \"CF3\": \"no_difficulty\"}."))
    complete = serializers.BooleanField(default=True, help_text=_(
        "Complete and score now (every question shown needs an answer); false keeps a draft."))


KNOWN_FIELDS = {*ScreeningCreateSerializer().fields, "age", "reason", "status", "withdraw_reason"}


class AnswersSerializer(serializers.Serializer):
    answers = serializers.JSONField(help_text=_("Every answer so far (they replace the stored ones)."))
    complete = serializers.BooleanField(default=False, help_text=_("Complete and score now."))


ERRORS = OpenApiResponse(description=_(
    "Invalid input: a field map; answers are named inside `answers`, e.g. {\"answers\": {\"CF2\": [\"Answer this question.\"]}}. "
    "An age outside the questionnaires' ages is an error on `interview_date`."))


@extend_schema_view(
    list=extend_schema(summary="Functioning screenings you may see (each one returned is recorded as opened)"),
    retrieve=extend_schema(summary="A functioning screening (opening it is recorded)"),
    create=extend_schema(summary="Record a functioning screening", request=ScreeningCreateSerializer,
                         responses={201: ScreeningSerializer, 400: ERRORS}),
)
@route("screenings", "screening")
class ScreeningViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = ScreeningSerializer
    filterset_class = ScreeningApiFilter

    def get_queryset(self):
        return Screening.objects.visible_to(self.request.user).select_related(
            "organization", "recorded_by").order_by("-interview_date", "-id")

    def _writable(self, pk) -> Screening:
        return access.get_visible_or_404(self.request.user, Screening.objects.all(), "write", pk=pk)

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        records = list(page if page is not None else queryset)
        services.opened(request.user, records)
        data = self.get_serializer(records, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def retrieve(self, request, *args, **kwargs):
        obj = self.get_object()
        services.opened(request.user, [obj])
        return Response(self.get_serializer(obj).data)

    def create(self, request, *args, **kwargs):
        s = ScreeningCreateSerializer(data=request.data, context=self.get_serializer_context())
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        try:
            screening = services.record_screening(request.user, data.pop("learner"), **data)
        except ValidationError as exc:
            return _bad_request(exc)
        return Response(self.get_serializer(screening).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Save a draft's answers, or complete it", request=AnswersSerializer,
                   responses={200: ScreeningSerializer, 400: ERRORS})
    @action(detail=True, methods=["post"])
    def answers(self, request, pk=None):
        screening = self._writable(pk)
        s = AnswersSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        try:
            services.save_answers(request.user, screening, s.validated_data["answers"])
            if s.validated_data["complete"]:
                services.complete_screening(request.user, screening)
        except ValidationError as exc:
            return _bad_request(exc)
        return Response(self.get_serializer(screening).data)

    @extend_schema(summary="Withdraw a screening recorded in error", request=ReasonSerializer,
                   responses={200: ScreeningSerializer})
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        screening = self._writable(pk)
        s = ReasonSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.withdraw_screening(request.user, screening, reason=s.validated_data["reason"])
        return Response(self.get_serializer(screening).data)


# --- questionnaire definitions -------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="The questionnaires (each file's definition: items, scales, skips, scoring rules)",
                       responses={200: OpenApiResponse(description=_("A list of questionnaire definitions."))}),
    retrieve=extend_schema(summary="One questionnaire's definition",
                           responses={200: OpenApiResponse(description=_("The questionnaire definition (format 1)."))}),
)
@route("screening/instruments", "screening-instrument")
class InstrumentViewSet(viewsets.ViewSet):
    lookup_field = "code"
    lookup_value_regex = "[a-z0-9-]+"

    def list(self, request):
        return Response([i.as_dict() for i in engine.all_instruments()])

    def retrieve(self, request, code=None):
        try:
            return Response(engine.load_instrument(code).as_dict())
        except engine.UnknownInstrument:
            raise Http404 from None


# --- stateless scoring ---------------------------------------------------------------------------


class ScoreRequestSerializer(serializers.Serializer):
    instrument = serializers.ChoiceField(choices=_instrument_codes(), help_text=_("cfm-2-4, cfm-5-17 or wg-ss."))
    age = serializers.IntegerField(help_text=_("Age in completed years on the interview date."))
    answers = serializers.JSONField(help_text=_(
        "Question code → answer code: CF1…CF24 as in the CFM (WG-SS: seeing, hearing, walking, cognition, self_care, "
        "communication); answers are meanings such as no_difficulty, never numbers."))


SCORE_RESPONSE = inline_serializer("ScreeningScore", {
    "domains": serializers.DictField(child=serializers.BooleanField(allow_null=True), help_text=_(
        "Domain code → true (difficulty), false (none) or null (indeterminate).")),
    "disability_1": serializers.BooleanField(allow_null=True, required=False, help_text=_("WG-SS only.")),
    "disability_2": serializers.BooleanField(allow_null=True, required=False, help_text=_("WG-SS only.")),
    "disability_3": serializers.BooleanField(allow_null=True, required=False, help_text=_("WG-SS only.")),
    "disability_4": serializers.BooleanField(allow_null=True, required=False, help_text=_("WG-SS only.")),
    "functional_difficulty": serializers.BooleanField(allow_null=True),
    "domain_count": serializers.IntegerField(),
})


class ScoreView(APIView):
    """Score answers without storing anything (for other systems)."""

    @extend_schema(
        summary="Score a functioning questionnaire (stateless: nothing is stored)", request=ScoreRequestSerializer,
        responses={200: SCORE_RESPONSE, 400: OpenApiResponse(description=_(
            "A field map naming the field: `instrument`, `age` (e.g. outside the questionnaire's ages), `answers`, or a "
            "question inside `answers`, e.g. {\"answers\": {\"CF99\": [\"This question is not part of the questionnaire.\"]}}."))},
    )
    def post(self, request):
        s = ScoreRequestSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        try:
            body = services.score_answers(s.validated_data["instrument"], s.validated_data["age"], s.validated_data["answers"])
        except services.ScoringError as exc:
            return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
        return Response(body)


extra("screening/score/", ScoreView.as_view(), "screening-score")
