"""API of the learner registry: learners, guardians and links, consents, disability statuses,
diagnoses, enrolments, assignments and the roster import.

Reads go through ``visible_to`` (a record out of reach is a 404); writes call the services, so the
rules, the access policy and the audit trail are the same as on the pages. A learner, guardian or
organization outside the user's reach is "not found" in a request body too.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from birge.api.registry import route
from birge.core.models import AuditEvent, Organization, Territory, User
from birge.core.tabular import ImportFileError

from . import rosters, services
from .filters import (
    AssignmentFilter, ConsentFilter, DiagnosisFilter, DisabilityFilter, EnrolmentFilter, GuardianFilter, GuardianLinkFilter,
    LearnerFilter,
)
from .models import (
    Assignment, Consent, Diagnosis, DisabilityStatus, Enrolment, FormOfEducation, Guardian, GuardianLink, Learner, Level,
    Programme, Sex,
)

# --- fields that only accept what the user may see ------------------------------------------------


@extend_schema_field(OpenApiTypes.INT)
class VisibleLearnerField(serializers.PrimaryKeyRelatedField):
    """A learner id; learners out of the user's reach do not exist here."""

    def get_queryset(self):
        request = self.context.get("request")
        return Learner.objects.visible_to(request.user) if request else Learner.objects.none()


@extend_schema_field(OpenApiTypes.INT)
class VisibleGuardianField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        request = self.context.get("request")
        return Guardian.objects.visible_to(request.user) if request else Guardian.objects.none()


def org_field(**kwargs):
    return serializers.SlugRelatedField(slug_field="code", queryset=Organization.objects.all(), **kwargs)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(label=_("Reason"), max_length=2000)


class EndSerializer(ReasonSerializer):
    ends_on = serializers.DateField(label=_("End date"), required=False, allow_null=True,
                                    help_text=_("From this day on it no longer applies (default: today)."))


# --- learners --------------------------------------------------------------------------------------


class LearnerSerializer(serializers.ModelSerializer):
    pin = serializers.CharField(label=_("PIN"), required=False, allow_blank=True, max_length=40,
                                help_text=_("14 digits; checked against the birth date and sex."))
    territory = serializers.SlugRelatedField(slug_field="code", queryset=Territory.objects.current(),
                                             help_text=_("SOATE code of where the learner lives."))
    sex = serializers.ChoiceField(choices=Sex.choices)
    full_name = serializers.CharField(read_only=True)
    created_by_org = serializers.SlugRelatedField(slug_field="code", read_only=True)
    confirm_mismatch = serializers.BooleanField(write_only=True, required=False, default=False, help_text=_(
        "Confirm that the entered birth date and sex are right although the PIN says otherwise."))
    confirm_new_despite_duplicates = serializers.BooleanField(write_only=True, required=False, default=False, help_text=_(
        "Register although learners with the same birth date and a similar name exist."))
    organization = org_field(write_only=True, required=False, help_text=_(
        "Code of the organization on whose behalf you register (default: your first one)."))

    class Meta:
        model = Learner
        fields = ["id", "pin", "last_name", "first_name", "patronymic", "full_name", "birth_date", "sex", "territory",
                  "address", "languages", "pin_mismatch_confirmed", "created_at", "created_by_org", "archived_at",
                  "archive_reason", "is_synthetic", "confirm_mismatch", "confirm_new_despite_duplicates", "organization"]
        read_only_fields = ["pin_mismatch_confirmed", "created_at", "archived_at", "archive_reason", "is_synthetic"]


class DuplicateSerializer(serializers.ModelSerializer):
    class Meta:
        model = Learner
        fields = ["id", "full_name", "birth_date", "sex", "territory"]

    territory = serializers.SlugRelatedField(slug_field="code", read_only=True)
    full_name = serializers.CharField(read_only=True)


class PinChangeSerializer(serializers.Serializer):
    pin = serializers.CharField(label=_("New PIN"), max_length=40)
    reason = serializers.CharField(label=_("Reason"), max_length=2000)
    confirm_mismatch = serializers.BooleanField(required=False, default=False)


class HistorySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", "at", "actor_name", "action", "event", "object_type", "object_id", "changes", "reason"]


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=_("CSV (UTF-8 or Windows-1251) or XLSX."))
    valid_only = serializers.BooleanField(required=False, default=False)


IMPORT_REPORT = inline_serializer("RosterImportReport", {
    "total": serializers.IntegerField(), "written": serializers.IntegerField(), "committed": serializers.BooleanField(),
    "encoding": serializers.CharField(), "created": serializers.IntegerField(), "matched": serializers.IntegerField(),
    "enrolled": serializers.IntegerField(), "unchanged": serializers.IntegerField(),
    "errors": serializers.ListField(child=inline_serializer("RosterImportError", {
        "line": serializers.IntegerField(), "field": serializers.CharField(), "message": serializers.CharField()})),
})
CREATE_ERRORS = OpenApiResponse(description=_(
    "Invalid input: a field map. A PIN already registered is an error on `pin`, with `existing_learner` (its id) when "
    "you may see it; likely duplicates are listed in `duplicates` unless `confirm_new_despite_duplicates` is true."))


def _created_response(exc, request):
    if isinstance(exc, services.DuplicatePin):
        data = {"pin": [str(m) for m in exc.message_dict["pin"]]}
        if exc.existing is not None:
            data["existing_learner"] = exc.existing.pk
        return Response(data, status=status.HTTP_400_BAD_REQUEST)
    data = {"non_field_errors": [str(m) for m in exc.messages],
            "duplicates": DuplicateSerializer(exc.candidates, many=True, context={"request": request}).data}
    return Response(data, status=status.HTTP_400_BAD_REQUEST)


@extend_schema_view(
    list=extend_schema(summary="Learners you may see; `q` searches any spelling of the name, or a PIN prefix."),
    create=extend_schema(summary="Register a learner", responses={201: LearnerSerializer, 400: CREATE_ERRORS}),
    partial_update=extend_schema(summary="Change identity fields (not the PIN: use change-pin)"),
)
@route("learners", "learner")
class LearnerViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = LearnerSerializer
    filterset_class = LearnerFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return Learner.objects.visible_to(self.request.user).select_related("territory", "created_by_org").order_by(
            "last_name", "first_name", "pk")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        try:
            learner = services.create_learner(request.user, **data)
        except (services.DuplicatePin, services.PossibleDuplicates) as exc:
            return _created_response(exc, request)
        return Response(self.get_serializer(learner).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        learner = self.get_object()
        serializer = self.get_serializer(learner, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "pin" in data and data["pin"] != learner.pin:
            raise serializers.ValidationError({"pin": [_("Change a PIN through change-pin, with a reason.")]})
        fields = {k: v for k, v in data.items() if k in services.LEARNER_EDITABLE}
        learner = services.update_learner(request.user, learner, confirm_mismatch=data.get("confirm_mismatch", False), **fields)
        return Response(self.get_serializer(learner).data)

    @extend_schema(request=PinChangeSerializer, responses={200: LearnerSerializer})
    @action(detail=True, methods=["post"], url_path="change-pin")
    def change_pin(self, request, pk=None):
        learner = self.get_object()
        s = PinChangeSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        try:
            services.change_pin(request.user, learner, new_pin=s.validated_data["pin"], reason=s.validated_data["reason"],
                                confirm_mismatch=s.validated_data["confirm_mismatch"])
        except services.DuplicatePin as exc:
            return _created_response(exc, request)
        learner.refresh_from_db()
        return Response(self.get_serializer(learner).data)

    @extend_schema(request=ReasonSerializer, responses={200: LearnerSerializer})
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        learner = self.get_object()
        s = ReasonSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.archive_learner(request.user, learner, reason=s.validated_data["reason"])
        return Response(self.get_serializer(learner).data)

    @extend_schema(request=ReasonSerializer, responses={200: LearnerSerializer})
    @action(detail=True, methods=["post"])
    def restore(self, request, pk=None):
        learner = self.get_object()
        s = ReasonSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.restore_learner(request.user, learner, reason=s.validated_data["reason"])
        return Response(self.get_serializer(learner).data)

    @extend_schema(responses={200: HistorySerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def history(self, request, pk=None):
        learner = self.get_object()
        return Response(HistorySerializer(services.learner_history(request.user, learner), many=True).data)

    @extend_schema(
        summary="Likely duplicates of a child about to be registered (same birth date, name folding alike)",
        parameters=[OpenApiParameter("last_name", str), OpenApiParameter("first_name", str, required=True),
                    OpenApiParameter("patronymic", str), OpenApiParameter("birth_date", str, required=True),
                    OpenApiParameter("sex", str)],
        responses={200: DuplicateSerializer(many=True)}, filters=False,
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def duplicates(self, request):
        params = request.query_params
        try:
            from datetime import date

            birth_date = date.fromisoformat(params.get("birth_date", ""))
        except ValueError:
            raise serializers.ValidationError({"birth_date": [_("Give the birth date as YYYY-MM-DD.")]}) from None
        found = services.likely_duplicates(request.user, last_name=params.get("last_name", ""),
                                           first_name=params.get("first_name", ""), patronymic=params.get("patronymic", ""),
                                           birth_date=birth_date, sex=params.get("sex") or None)
        return Response(DuplicateSerializer(found, many=True).data)

    @extend_schema(request={"multipart/form-data": ImportRequestSerializer}, responses={200: IMPORT_REPORT, 400: IMPORT_REPORT},
                   summary="Import a roster (CSV/XLSX): all-or-nothing unless valid_only", filters=False)
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser],
            filter_backends=[], pagination_class=None)
    def import_roster(self, request):
        s = ImportRequestSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        upload = s.validated_data["file"]
        try:
            report, stats = rosters.import_roster(request.user, upload.name, upload.read(), valid_only=s.validated_data["valid_only"])
        except ImportFileError as exc:
            return Response({"file": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        data = report.as_dict()
        data.update(created=stats.created, matched=stats.matched, enrolled=stats.enrolled, unchanged=stats.unchanged)
        return Response(data, status=status.HTTP_200_OK if report.committed else status.HTTP_400_BAD_REQUEST)


# --- guardians ------------------------------------------------------------------------------------


class GuardianLinkInlineSerializer(serializers.ModelSerializer):
    class Meta:
        model = GuardianLink
        fields = ["id", "learner", "relation", "is_legal_representative", "starts_on", "ends_on", "end_reason"]


class GuardianSerializer(serializers.ModelSerializer):
    full_name = serializers.CharField(read_only=True)
    has_account = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = Guardian
        fields = ["id", "last_name", "first_name", "patronymic", "full_name", "pin", "phone", "email", "preferred_language",
                  "has_account", "links"]

    def get_has_account(self, obj) -> bool:
        return obj.user_id is not None

    def get_links(self, obj) -> list[dict]:
        request = self.context.get("request")
        links = GuardianLink.objects.visible_to(request.user).filter(guardian=obj) if request else []
        return GuardianLinkInlineSerializer(links, many=True).data


class GuardianCreateSerializer(serializers.Serializer):
    learner = VisibleLearnerField(help_text=_("The learner the new guardian is linked to."))
    relation = serializers.ChoiceField(choices=GuardianLink.Relation.choices)
    is_legal_representative = serializers.BooleanField(required=False, default=True)
    starts_on = serializers.DateField(required=False, allow_null=True)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    first_name = serializers.CharField(max_length=100)
    patronymic = serializers.CharField(required=False, allow_blank=True, max_length=100)
    pin = serializers.CharField(required=False, allow_blank=True, max_length=40)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
    email = serializers.EmailField(required=False, allow_blank=True)
    preferred_language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False, default="ky")


class GuardianUpdateSerializer(serializers.Serializer):
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    first_name = serializers.CharField(required=False, max_length=100)
    patronymic = serializers.CharField(required=False, allow_blank=True, max_length=100)
    pin = serializers.CharField(required=False, allow_blank=True, max_length=40)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
    email = serializers.EmailField(required=False, allow_blank=True)
    preferred_language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False)


class AccountSerializer(serializers.Serializer):
    email = serializers.EmailField(required=False, allow_blank=True)
    username = serializers.CharField(required=False, allow_blank=True, max_length=150)


@extend_schema_view(
    create=extend_schema(request=GuardianCreateSerializer, responses={201: GuardianSerializer},
                         summary="Add a new guardian linked to a learner"),
    partial_update=extend_schema(request=GuardianUpdateSerializer, responses={200: GuardianSerializer}),
)
@route("guardians", "guardian")
class GuardianViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = GuardianSerializer
    filterset_class = GuardianFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return Guardian.objects.visible_to(self.request.user).order_by("last_name", "first_name", "pk")

    def create(self, request, *args, **kwargs):
        s = GuardianCreateSerializer(data=request.data, context=self.get_serializer_context())
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        link = services.add_guardian(request.user, data.pop("learner"), **data)
        return Response(self.get_serializer(link.guardian).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        guardian = self.get_object()
        s = GuardianUpdateSerializer(data=request.data, partial=True)
        s.is_valid(raise_exception=True)
        guardian = services.update_guardian(request.user, guardian, **s.validated_data)
        return Response(self.get_serializer(guardian).data)

    @extend_schema(request=AccountSerializer, responses={201: inline_serializer("ParentAccount", {
        "user": serializers.IntegerField(), "username": serializers.CharField()})},
        summary="Give the guardian a parent account (the password is set through an e-mailed link)")
    @action(detail=True, methods=["post"])
    def account(self, request, pk=None):
        guardian = self.get_object()
        s = AccountSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        user = services.give_parent_account(request.user, guardian, request=request._request, **s.validated_data)
        return Response({"user": user.pk, "username": user.username}, status=status.HTTP_201_CREATED)


class GuardianLinkSerializer(serializers.ModelSerializer):
    learner = VisibleLearnerField()
    guardian = VisibleGuardianField()

    class Meta:
        model = GuardianLink
        fields = ["id", "learner", "guardian", "relation", "is_legal_representative", "starts_on", "ends_on", "end_reason"]
        read_only_fields = ["ends_on", "end_reason"]
        validators = []  # the service says "already linked" on the guardian field


@extend_schema_view(create=extend_schema(summary="Link a guardian already registered to a learner"))
@route("guardian-links", "guardian-link")
class GuardianLinkViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = GuardianLinkSerializer
    filterset_class = GuardianLinkFilter

    def get_queryset(self):
        return GuardianLink.objects.visible_to(self.request.user).order_by("pk")

    def create(self, request, *args, **kwargs):
        s = self.get_serializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        link = services.link_guardian(request.user, data.pop("learner"), data.pop("guardian"), **data)
        return Response(self.get_serializer(link).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=EndSerializer, responses={200: GuardianLinkSerializer})
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        link = self.get_object()
        s = EndSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.end_guardian_link(request.user, link, **s.validated_data)
        return Response(self.get_serializer(link).data)


# --- consents -------------------------------------------------------------------------------------


class ConsentSerializer(serializers.ModelSerializer):
    learner = VisibleLearnerField()
    recipient = org_field(required=False, allow_null=True)
    given_by = VisibleGuardianField(required=False, allow_null=True)
    is_active = serializers.BooleanField(read_only=True)
    document = serializers.FileField(required=False, allow_null=True, write_only=True)
    has_document = serializers.SerializerMethodField()

    class Meta:
        model = Consent
        fields = ["id", "learner", "purpose", "scope", "recipient", "given_by", "given_by_learner", "given_at", "method",
                  "document", "has_document", "valid_until", "is_active", "withdrawn_at", "withdrawal_reason"]
        read_only_fields = ["withdrawn_at", "withdrawal_reason"]
        extra_kwargs = {"given_at": {"required": False}}

    def get_has_document(self, obj) -> bool:
        return bool(obj.document)


@extend_schema_view(create=extend_schema(summary="Record a consent (on paper with an optional scan, or in the system by the guardian)"))
@route("consents", "consent")
class ConsentViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = ConsentSerializer
    filterset_class = ConsentFilter
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        return Consent.objects.visible_to(self.request.user).select_related("recipient").order_by("-given_at", "pk")

    def create(self, request, *args, **kwargs):
        s = self.get_serializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        consent = services.record_consent(request.user, data.pop("learner"), **data)
        return Response(self.get_serializer(consent).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReasonSerializer, responses={200: ConsentSerializer})
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        consent = self.get_object()
        s = ReasonSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.withdraw_consent(request.user, consent, reason=s.validated_data["reason"])
        return Response(self.get_serializer(consent).data)


# --- disability and diagnosis ---------------------------------------------------------------------


class DisabilityStatusSerializer(serializers.ModelSerializer):
    learner = VisibleLearnerField()
    certifying_body = org_field(required=False, allow_null=True)

    class Meta:
        model = DisabilityStatus
        fields = ["id", "learner", "category", "certifying_body", "certificate_number", "starts_on", "ends_on", "indefinite",
                  "reexamination_on", "rehabilitation_programme", "closed_at", "close_reason"]
        read_only_fields = ["closed_at", "close_reason"]


class SensitiveReadMixin:
    """Every sensitive record returned (list or retrieve) writes a read event."""

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


@extend_schema_view(
    list=extend_schema(summary="Disability statuses you may see (each one returned is recorded as opened)"),
    retrieve=extend_schema(summary="A disability status (opening it is recorded)"),
)
@route("disability-statuses", "disability-status")
class DisabilityStatusViewSet(SensitiveReadMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = DisabilityStatusSerializer
    filterset_class = DisabilityFilter

    def get_queryset(self):
        return DisabilityStatus.objects.visible_to(self.request.user).select_related("certifying_body").order_by("-starts_on", "pk")

    def create(self, request, *args, **kwargs):
        s = self.get_serializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        record = services.record_disability(request.user, data.pop("learner"), **data)
        return Response(self.get_serializer(record).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReasonSerializer, responses={200: DisabilityStatusSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        record = self.get_object()
        s = ReasonSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.close_disability(request.user, record, reason=s.validated_data["reason"])
        return Response(self.get_serializer(record).data)


class DiagnosisSerializer(serializers.ModelSerializer):
    learner = VisibleLearnerField()

    class Meta:
        model = Diagnosis
        fields = ["id", "learner", "code", "note", "recorded_on", "withdrawn_at"]
        read_only_fields = ["withdrawn_at"]
        extra_kwargs = {"recorded_on": {"required": False}}


@route("diagnoses", "diagnosis")
class DiagnosisViewSet(SensitiveReadMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Optional ICD-10 codes: health and PMPK roles and the family only (each one returned is recorded as opened)."""

    serializer_class = DiagnosisSerializer
    filterset_class = DiagnosisFilter

    def get_queryset(self):
        return Diagnosis.objects.visible_to(self.request.user).order_by("-recorded_on", "pk")

    def create(self, request, *args, **kwargs):
        s = self.get_serializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        record = services.record_diagnosis(request.user, data.pop("learner"), **data)
        return Response(self.get_serializer(record).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReasonSerializer, responses={200: DiagnosisSerializer})
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        record = self.get_object()
        s = ReasonSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.withdraw_diagnosis(request.user, record, reason=s.validated_data["reason"])
        return Response(self.get_serializer(record).data)


# --- enrolments -----------------------------------------------------------------------------------


class EnrolmentSerializer(serializers.ModelSerializer):
    learner = VisibleLearnerField()
    organization = org_field()
    level = serializers.ChoiceField(choices=Level.choices)
    form = serializers.ChoiceField(choices=FormOfEducation.choices, required=False, default=FormOfEducation.MAINSTREAM)
    programme = serializers.ChoiceField(choices=Programme.choices, required=False, default=Programme.GENERAL)

    class Meta:
        model = Enrolment
        fields = ["id", "learner", "organization", "level", "grade", "class_name", "form", "programme", "with_tutor",
                  "language", "starts_on", "ends_on", "status", "end_reason"]
        read_only_fields = ["ends_on", "status", "end_reason"]
        extra_kwargs = {"grade": {"validators": []}}
        validators = []  # the services give the clear field errors (one active enrolment per level)


class EnrolmentDetailsSerializer(serializers.Serializer):
    grade = serializers.IntegerField(required=False, allow_null=True)
    class_name = serializers.CharField(required=False, allow_blank=True, max_length=40)
    form = serializers.ChoiceField(choices=FormOfEducation.choices, required=False)
    programme = serializers.ChoiceField(choices=Programme.choices, required=False)
    with_tutor = serializers.BooleanField(required=False)
    language = serializers.CharField(required=False, allow_blank=True, max_length=5)


class TransferSerializer(EnrolmentDetailsSerializer):
    to_organization = org_field()
    starts_on = serializers.DateField(required=False, allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    level = serializers.ChoiceField(choices=Level.choices, required=False)


class EndEnrolmentSerializer(serializers.Serializer):
    ends_on = serializers.DateField(required=False, allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


@extend_schema_view(partial_update=extend_schema(request=EnrolmentDetailsSerializer, summary="Change an active enrolment's details"))
@route("enrolments", "enrolment")
class EnrolmentViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = EnrolmentSerializer
    filterset_class = EnrolmentFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return Enrolment.objects.visible_to(self.request.user).select_related("organization").order_by("-starts_on", "pk")

    def create(self, request, *args, **kwargs):
        s = self.get_serializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        record = services.enrol(request.user, data.pop("learner"), **data)
        return Response(self.get_serializer(record).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        record = self.get_object()
        s = EnrolmentDetailsSerializer(data=request.data, partial=True)
        s.is_valid(raise_exception=True)
        record = services.update_enrolment(request.user, record, **s.validated_data)
        return Response(self.get_serializer(record).data)

    @extend_schema(request=TransferSerializer, responses={201: EnrolmentSerializer},
                   summary="Transfer: ends this enrolment as transferred and opens the next one, in one transaction")
    @action(detail=True, methods=["post"])
    def transfer(self, request, pk=None):
        record = self.get_object()
        s = TransferSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        new = services.transfer(request.user, record, to_organization=data.pop("to_organization"),
                                starts_on=data.pop("starts_on", None), reason=data.pop("reason", ""), **data)
        return Response(EnrolmentSerializer(new, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=EndEnrolmentSerializer, responses={200: EnrolmentSerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        record = self.get_object()
        s = EndEnrolmentSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.complete_enrolment(request.user, record, ends_on=s.validated_data.get("ends_on"),
                                    reason=s.validated_data.get("reason", ""))
        return Response(self.get_serializer(record).data)

    @extend_schema(request=EndEnrolmentSerializer, responses={200: EnrolmentSerializer}, summary="Dropped out (reason required)")
    @action(detail=True, methods=["post"], url_path="drop-out")
    def drop_out(self, request, pk=None):
        record = self.get_object()
        s = EndEnrolmentSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.drop_out(request.user, record, ends_on=s.validated_data.get("ends_on"), reason=s.validated_data.get("reason", ""))
        return Response(self.get_serializer(record).data)


# --- assignments ----------------------------------------------------------------------------------


class AssignmentSerializer(serializers.ModelSerializer):
    learner = VisibleLearnerField()
    user = serializers.SlugRelatedField(slug_field="username", queryset=User.objects.filter(is_active=True),
                                        help_text=_("Username of the specialist or tutor."))
    organization = org_field(required=False, help_text=_("Where the staff member works (default: their organization)."))

    class Meta:
        model = Assignment
        fields = ["id", "learner", "user", "organization", "kind", "starts_on", "ends_on", "end_reason"]
        read_only_fields = ["ends_on", "end_reason"]
        extra_kwargs = {"starts_on": {"required": False}}


@extend_schema_view(create=extend_schema(summary="Assign a specialist or tutor (opens the learner's records to them)"))
@route("assignments", "assignment")
class AssignmentViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = AssignmentSerializer
    filterset_class = AssignmentFilter

    def get_queryset(self):
        return Assignment.objects.visible_to(self.request.user).select_related("user", "organization").order_by("pk")

    def create(self, request, *args, **kwargs):
        s = self.get_serializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        record = services.assign(request.user, data.pop("learner"), **data)
        return Response(self.get_serializer(record).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=EndSerializer, responses={200: AssignmentSerializer})
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        record = self.get_object()
        s = EndSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.end_assignment(request.user, record, **s.validated_data)
        return Response(self.get_serializer(record).data)

