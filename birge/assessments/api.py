"""API of PMPK assessment: sessions (members, findings), conclusions (items; actions issue, withdraw,
supersede), releases (create, revoke), the catalogue (read-only).

Reads go through ``visible_to`` (out of reach is a 404); opening a session or a conclusion is recorded;
writes call the services, so the rules, the access policy and the audit trail are those of the pages.
A service's ``ValidationError`` is a 400 with the field map; an action the role may not take is a 403.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from birge.api.registry import route
from birge.core import audit
from birge.core.models import Organization, User
from birge.learners.models import Consent, Guardian, Learner
from birge.referrals.models import Referral

from . import services
from .filters import CatalogueFilter, ConclusionFilter, ReleaseFilter, SessionFilter
from .models import (
    AssessmentSession, CatalogueItem, Conclusion, ConclusionItem, Difficulty, Domain, Finding, Obligation, Release, SessionMember,
    Source, Specialty,
)

# --- fields that accept only what the user may see -------------------------------------------------------


class _Visible(serializers.PrimaryKeyRelatedField):
    model = None

    def get_queryset(self):
        request = self.context.get("request")
        return self.model.objects.visible_to(request.user) if request else self.model.objects.none()


@extend_schema_field(OpenApiTypes.INT)
class VisibleReferralField(_Visible):
    model = Referral


@extend_schema_field(OpenApiTypes.INT)
class VisibleSessionField(_Visible):
    model = AssessmentSession


@extend_schema_field(OpenApiTypes.INT)
class VisibleConclusionField(_Visible):
    model = Conclusion


@extend_schema_field(OpenApiTypes.INT)
class VisibleMemberField(_Visible):
    model = SessionMember


@extend_schema_field(OpenApiTypes.INT)
class VisibleConsentField(_Visible):
    model = Consent


@extend_schema_field(OpenApiTypes.INT)
class VisibleGuardianField(_Visible):
    model = Guardian


@extend_schema_field(OpenApiTypes.INT)
class VisibleLearnerField(_Visible):
    model = Learner


def org_field(**kwargs):
    return serializers.SlugRelatedField(slug_field="code", queryset=Organization.objects.all(), **kwargs)


class AssessmentReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(label=_("Reason"), max_length=2000)


class SensitiveReadMixin:
    """Opening a session or a conclusion (list or retrieve) writes a read event for each one returned."""

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        records = list(page if page is not None else queryset)
        for record in records:
            audit.record_read(request.user, record, event=f"{record._meta.model_name}.read")
        data = self.get_serializer(records, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def retrieve(self, request, *args, **kwargs):
        obj = self.get_object()
        audit.record_read(request.user, obj, event=f"{obj._meta.model_name}.read")
        return Response(self.get_serializer(obj).data)


# --- catalogue --------------------------------------------------------------------------------------------


class AssessmentCatalogueItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = CatalogueItem
        fields = ["id", "kind", "code", "name_ky", "name_ru", "name_en", "unit", "is_active"]


@extend_schema_view(list=extend_schema(summary="The catalogue of recommendations (forms, conditions, services, devices, "
                                               "test accommodations); codes are stable"))
@route("assessment-catalogue", "assessment-catalogue")
class CatalogueViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = AssessmentCatalogueItemSerializer
    filterset_class = CatalogueFilter
    queryset = CatalogueItem.objects.order_by("kind", "position", "code")


# --- sessions ---------------------------------------------------------------------------------------------


class SessionMemberInputSerializer(serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True),
                                              help_text=_("A user with a role at the PMPK."))
    specialty = serializers.ChoiceField(choices=Specialty.choices)
    is_chair = serializers.BooleanField(required=False, default=False)


class SessionMemberSerializer(serializers.ModelSerializer):
    session = VisibleSessionField()
    user_name = serializers.CharField(source="user.__str__", read_only=True)

    class Meta:
        model = SessionMember
        fields = ["id", "session", "user", "user_name", "specialty", "is_chair"]
        extra_kwargs = {"user": {"queryset": User.objects.filter(is_active=True)}}


class AssessmentFindingSerializer(serializers.ModelSerializer):
    session = VisibleSessionField()
    member = VisibleMemberField()

    class Meta:
        model = Finding
        fields = ["id", "session", "member", "domain", "difficulty", "text", "strengths", "recorded_at"]
        read_only_fields = ["recorded_at"]


class AssessmentSessionSerializer(serializers.ModelSerializer):
    referral = VisibleReferralField()
    pmpk = serializers.SlugRelatedField(slug_field="code", read_only=True)
    members = SessionMemberSerializer(many=True, read_only=True)
    findings = AssessmentFindingSerializer(many=True, read_only=True)

    class Meta:
        model = AssessmentSession
        fields = ["id", "referral", "learner", "pmpk", "status", "scheduled_at", "mode", "place", "remote_details",
                  "family_invited_at", "invitation_note", "parent_present", "attendance_note", "sources", "observations",
                  "held_at", "cancelled_at", "cancel_reason", "created_at", "members", "findings"]
        read_only_fields = ["learner", "status", "family_invited_at", "parent_present", "attendance_note", "sources",
                            "observations", "held_at", "cancelled_at", "cancel_reason", "created_at"]


class SessionScheduleSerializer(serializers.Serializer):
    referral = VisibleReferralField(help_text=_("An accepted referral to your PMPK."))
    scheduled_at = serializers.DateTimeField()
    mode = serializers.ChoiceField(choices=AssessmentSession.Mode.choices, default=AssessmentSession.Mode.IN_PERSON)
    place = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")
    remote_details = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")
    invite_family = serializers.BooleanField(required=False, default=True)
    invitation_note = serializers.CharField(required=False, allow_blank=True, default="")
    members = SessionMemberInputSerializer(many=True)


class SessionRescheduleSerializer(serializers.Serializer):
    scheduled_at = serializers.DateTimeField(required=False)
    mode = serializers.ChoiceField(choices=AssessmentSession.Mode.choices, required=False)
    place = serializers.CharField(required=False, allow_blank=True, max_length=300)
    remote_details = serializers.CharField(required=False, allow_blank=True, max_length=300)
    invitation_note = serializers.CharField(required=False, allow_blank=True)


class SessionHeldSerializer(serializers.Serializer):
    parent_present = serializers.BooleanField(allow_null=True, help_text=_("Was a parent or legal representative present?"))
    attendance_note = serializers.CharField(required=False, allow_blank=True, default="")
    sources = serializers.ListField(child=serializers.ChoiceField(choices=Source.choices), allow_empty=True)
    observations = serializers.CharField(required=False, allow_blank=True, default="")
    held_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


@extend_schema_view(
    list=extend_schema(summary="PMPK sessions you may see (each one returned is recorded as opened)"),
    retrieve=extend_schema(summary="A PMPK session with its members and findings (opening it is recorded)"),
    create=extend_schema(summary="Schedule a session for an accepted referral (the referral becomes scheduled; needs the "
                                 "assessment consent)", request=SessionScheduleSerializer, responses={201: AssessmentSessionSerializer}),
    partial_update=extend_schema(summary="Move a scheduled session", request=SessionRescheduleSerializer,
                                 responses={200: AssessmentSessionSerializer}),
)
@route("assessment-sessions", "assessment-session")
class SessionViewSet(SensitiveReadMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = AssessmentSessionSerializer
    filterset_class = SessionFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return (AssessmentSession.objects.visible_to(self.request.user).select_related("pmpk")
                .prefetch_related("members__user", "findings").order_by("-scheduled_at", "-pk"))

    def create(self, request, *args, **kwargs):
        s = SessionScheduleSerializer(data=request.data, context=self.get_serializer_context())
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        members = [(m["user"], m["specialty"], m.get("is_chair", False)) for m in data.pop("members")]
        session = services.schedule_session(request.user, data.pop("referral"), members=members, **data)
        return Response(self.get_serializer(session).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        session = self.get_object()
        s = SessionRescheduleSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        session = services.reschedule_session(request.user, session, **s.validated_data)
        return Response(self.get_serializer(session).data)

    @extend_schema(request=SessionHeldSerializer, responses={200: AssessmentSessionSerializer},
                   summary="Record the session as held: attendance and observations used (the referral becomes assessed)")
    @action(detail=True, methods=["post"])
    def held(self, request, pk=None):
        session = self.get_object()
        s = SessionHeldSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        session = services.record_held(request.user, session, **s.validated_data)
        return Response(self.get_serializer(session).data)

    @extend_schema(request=AssessmentReasonSerializer, responses={200: AssessmentSessionSerializer}, summary="Cancel a scheduled session")
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        session = self.get_object()
        s = AssessmentReasonSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        session = services.cancel_session(request.user, session, reason=s.validated_data["reason"])
        return Response(self.get_serializer(session).data)


@extend_schema_view(create=extend_schema(summary="Add a member to a session (from the PMPK's staff)"),
                    destroy=extend_schema(summary="Take a member without findings off a scheduled session"))
@route("assessment-members", "assessment-member")
class SessionMemberViewSet(mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = SessionMemberSerializer
    filterset_fields = ["session", "user", "specialty"]

    def get_queryset(self):
        return SessionMember.objects.visible_to(self.request.user).select_related("user").order_by("session", "id")

    def create(self, request, *args, **kwargs):
        s = self.get_serializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        member = services.add_member(request.user, data.pop("session"), **data)
        return Response(self.get_serializer(member).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs):
        services.remove_member(request.user, self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class AssessmentFindingUpdateSerializer(serializers.Serializer):
    domain = serializers.ChoiceField(choices=Domain.choices, required=False)
    difficulty = serializers.ChoiceField(choices=Difficulty.choices, required=False, allow_blank=True)
    text = serializers.CharField(required=False)
    strengths = serializers.CharField(required=False, allow_blank=True)


@extend_schema_view(create=extend_schema(summary="Record a specialist's finding about one area of functioning"),
                    partial_update=extend_schema(request=AssessmentFindingUpdateSerializer, responses={200: AssessmentFindingSerializer},
                                                 summary="Change a finding (until a conclusion on the session is issued)"))
@route("assessment-findings", "assessment-finding")
class FindingViewSet(SensitiveReadMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = AssessmentFindingSerializer
    filterset_fields = ["session", "member", "domain"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return Finding.objects.visible_to(self.request.user).select_related("member").order_by("session", "id")

    def create(self, request, *args, **kwargs):
        s = self.get_serializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        finding = services.record_finding(request.user, data.pop("session"), **data)
        return Response(self.get_serializer(finding).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        finding = self.get_object()
        s = AssessmentFindingUpdateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        finding = services.update_finding(request.user, finding, **s.validated_data)
        return Response(self.get_serializer(finding).data)


# --- conclusions ---------------------------------------------------------------------------------------------


class ConclusionItemInputSerializer(serializers.Serializer):
    catalogue = serializers.SlugRelatedField(slug_field="code", queryset=CatalogueItem.objects.all(),
                                             help_text=_("The catalogue code, e.g. speech-therapy."))
    minutes_per_week = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    sessions_per_month = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    detail = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class ConclusionItemSerializer(serializers.ModelSerializer):
    conclusion = VisibleConclusionField()
    catalogue = serializers.SlugRelatedField(slug_field="code", queryset=CatalogueItem.objects.all())

    class Meta:
        model = ConclusionItem
        fields = ["id", "conclusion", "catalogue", "kind", "minutes_per_week", "sessions_per_month", "detail", "position"]
        read_only_fields = ["kind", "position"]


class ConclusionSerializer(serializers.ModelSerializer):
    pmpk = serializers.SlugRelatedField(slug_field="code", read_only=True)
    items = serializers.SerializerMethodField()
    issued_by_name = serializers.CharField(source="issued_by.__str__", read_only=True, default=None)

    class Meta:
        model = Conclusion
        fields = ["id", "learner", "referral", "session", "pmpk", "status", "number", "issued_at", "issued_by",
                  "issued_by_name", "programme", "recommended_form", "with_tutor", "valid_until", "next_review_on",
                  "family_language", "supersedes", "summary", "withdrawn_at", "withdrawal_reason", "created_at", "items"]
        read_only_fields = fields

    @extend_schema_field(ConclusionItemInputSerializer(many=True))
    def get_items(self, obj):
        return [{"id": i.pk, "catalogue": i.catalogue.code, "kind": i.kind, "minutes_per_week": i.minutes_per_week,
                 "sessions_per_month": i.sessions_per_month, "detail": i.detail}
                for i in obj.items.select_related("catalogue").order_by("position", "id")]


class ConclusionWriteSerializer(serializers.Serializer):
    programme = serializers.ChoiceField(choices=Conclusion._meta.get_field("programme").choices, required=False)
    recommended_form = serializers.ChoiceField(choices=Conclusion._meta.get_field("recommended_form").choices, required=False)
    with_tutor = serializers.BooleanField(required=False)
    valid_until = serializers.DateField(required=False, allow_null=True)
    next_review_on = serializers.DateField(required=False, allow_null=True)
    family_language = serializers.ChoiceField(choices=Conclusion.Language.choices, required=False)
    summary = serializers.CharField(required=False, allow_blank=True)
    items = ConclusionItemInputSerializer(many=True, required=False, help_text=_("When given, replaces every recommendation of the draft."))


class ConclusionCreateSerializer(ConclusionWriteSerializer):
    session = VisibleSessionField(help_text=_("A held session."))


class ConclusionSupersedeSerializer(serializers.Serializer):
    session = VisibleSessionField(required=False, allow_null=True, help_text=_("A newer held session (a review), if any."))


@extend_schema_view(
    list=extend_schema(summary="Conclusions you may see (each one returned is recorded as opened)"),
    retrieve=extend_schema(summary="A conclusion with its recommendations (opening it is recorded)"),
    create=extend_schema(summary="Start a draft conclusion from a held session", request=ConclusionCreateSerializer,
                         responses={201: ConclusionSerializer}),
    partial_update=extend_schema(summary="Change a draft (an issued conclusion is never edited)",
                                 request=ConclusionWriteSerializer, responses={200: ConclusionSerializer}),
)
@route("conclusions", "conclusion")
class ConclusionViewSet(SensitiveReadMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = ConclusionSerializer
    filterset_class = ConclusionFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return (Conclusion.objects.visible_to(self.request.user).select_related("pmpk", "issued_by")
                .order_by("-issued_at", "-pk"))

    def _write(self, conclusion, data):
        from django.db import transaction

        items = data.pop("items", None)
        with transaction.atomic():
            if data:
                services.update_conclusion(self.request.user, conclusion, **data)
            if items is not None:
                services.set_items(self.request.user, conclusion, items)
        return conclusion

    def create(self, request, *args, **kwargs):
        from django.db import transaction

        s = ConclusionCreateSerializer(data=request.data, context=self.get_serializer_context())
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        items = data.pop("items", None)
        with transaction.atomic():
            conclusion = services.start_conclusion(request.user, data.pop("session"), **data)
            if items is not None:
                services.set_items(request.user, conclusion, items)
        return Response(self.get_serializer(conclusion).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        conclusion = self.get_object()
        s = ConclusionWriteSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        self._write(conclusion, dict(s.validated_data))
        conclusion.refresh_from_db()
        return Response(self.get_serializer(conclusion).data)

    @extend_schema(request=None, responses={200: ConclusionSerializer},
                   summary="Sign and issue a draft (the PMPK chair only): to the family; the referral becomes concluded")
    @action(detail=True, methods=["post"])
    def issue(self, request, pk=None):
        conclusion = services.issue_conclusion(request.user, self.get_object())
        return Response(self.get_serializer(conclusion).data)

    @extend_schema(request=AssessmentReasonSerializer, responses={200: ConclusionSerializer},
                   summary="Withdraw a draft, or (the chair) an issued conclusion, with a reason")
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        conclusion = self.get_object()  # out of reach is a 404 before the body is read
        s = AssessmentReasonSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        conclusion = services.withdraw_conclusion(request.user, conclusion, reason=s.validated_data["reason"])
        return Response(self.get_serializer(conclusion).data)

    @extend_schema(request=ConclusionSupersedeSerializer, responses={201: ConclusionSerializer},
                   summary="Start a correction or review: a new draft that, once issued, supersedes this conclusion")
    @action(detail=True, methods=["post"])
    def supersede(self, request, pk=None):
        conclusion = self.get_object()
        s = ConclusionSupersedeSerializer(data=request.data, context=self.get_serializer_context())
        s.is_valid(raise_exception=True)
        draft = services.supersede_conclusion(request.user, conclusion, session=s.validated_data.get("session"))
        return Response(self.get_serializer(draft).data, status=status.HTTP_201_CREATED)


class ConclusionItemUpdateSerializer(serializers.Serializer):
    catalogue = serializers.SlugRelatedField(slug_field="code", queryset=CatalogueItem.objects.all(), required=False)
    minutes_per_week = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    sessions_per_month = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    detail = serializers.CharField(required=False, allow_blank=True, max_length=500)


@extend_schema_view(create=extend_schema(summary="Add a recommendation to a draft"),
                    partial_update=extend_schema(request=ConclusionItemUpdateSerializer, responses={200: ConclusionItemSerializer},
                                                 summary="Change a recommendation of a draft"),
                    destroy=extend_schema(summary="Take a recommendation off a draft"))
@route("conclusion-items", "conclusion-item")
class ConclusionItemViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin,
                            viewsets.ReadOnlyModelViewSet):
    serializer_class = ConclusionItemSerializer
    filterset_fields = ["conclusion", "kind"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return ConclusionItem.objects.visible_to(self.request.user).select_related("catalogue").order_by(
            "conclusion", "position", "id")

    def create(self, request, *args, **kwargs):
        s = self.get_serializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        item = services.add_item(request.user, data.pop("conclusion"), **data)
        return Response(self.get_serializer(item).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        item = self.get_object()
        s = ConclusionItemUpdateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        item = services.update_item(request.user, item, **s.validated_data)
        return Response(self.get_serializer(item).data)

    def destroy(self, request, *args, **kwargs):
        services.remove_item(request.user, self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- releases ---------------------------------------------------------------------------------------------------


class ReleaseObligationSerializer(serializers.ModelSerializer):
    """A service to arrange or a device to request that the release made the organization's obligation.
    Its clock is the deadline (``/api/v1/deadlines/``) with ``record_type`` ``assessments.obligation`` and
    ``object_id`` = this id."""

    catalogue = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Obligation
        fields = ["id", "kind", "catalogue", "item"]
        read_only_fields = fields


class ConclusionReleaseSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="code", read_only=True)
    active = serializers.BooleanField(source="is_active", read_only=True)
    obligations = ReleaseObligationSerializer(many=True, read_only=True)

    class Meta:
        model = Release
        fields = ["id", "conclusion", "organization", "consent", "released_at", "released_by", "revoked_at", "revoke_reason",
                  "active", "obligations"]
        read_only_fields = fields


class ReleasePaperConsentSerializer(serializers.Serializer):
    given_by = VisibleGuardianField(help_text=_("The guardian who signed."))
    given_at = serializers.DateField(required=False)


class ConclusionReleaseCreateSerializer(serializers.Serializer):
    conclusion = VisibleConclusionField()
    organization = org_field(help_text=_("Code of the kindergarten, school or college the family chose."))
    consent = VisibleConsentField(required=False, allow_null=True, help_text=_(
        "An active release-conclusion consent to that organization."))
    give_consent = serializers.BooleanField(required=False, default=False, help_text=_(
        "The parent gives the consent now, in the system (parent accounts only)."))
    paper_consent = ReleasePaperConsentSerializer(required=False, allow_null=True, help_text=_(
        "A signed paper consent the PMPK records for the family."))


class ConclusionReleaseByNumberSerializer(serializers.Serializer):
    learner = VisibleLearnerField()
    number = serializers.CharField(max_length=40)
    consent = VisibleConsentField()


class ReleaseRevokeSerializer(AssessmentReasonSerializer):
    withdraw_consent = serializers.BooleanField(required=False, default=True)


@extend_schema_view(
    list=extend_schema(summary="Releases you may see"),
    create=extend_schema(summary="Release an issued conclusion to an organization, with the family's consent to it "
                                 "(starts the organization's obligations)", request=ConclusionReleaseCreateSerializer,
                         responses={201: ConclusionReleaseSerializer}),
)
@route("conclusion-releases", "conclusion-release")
class ReleaseViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = ConclusionReleaseSerializer
    filterset_class = ReleaseFilter

    def get_queryset(self):
        return (Release.objects.visible_to(self.request.user).select_related("organization", "consent")
                .prefetch_related(Prefetch("obligations", Obligation.objects.select_related("catalogue")))
                .order_by("-released_at", "-pk"))

    def create(self, request, *args, **kwargs):
        s = ConclusionReleaseCreateSerializer(data=request.data, context=self.get_serializer_context())
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        release = services.release_conclusion(request.user, data.pop("conclusion"), **data)
        return Response(self.get_serializer(release).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReleaseRevokeSerializer, responses={200: ConclusionReleaseSerializer},
                   summary="Take the conclusion back: the organization's access and obligations end at once")
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        release = self.get_object()  # out of reach is a 404 before the body is read
        s = ReleaseRevokeSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        release = services.revoke_release(request.user, release, **s.validated_data)
        return Response(self.get_serializer(release).data)

    @extend_schema(request=ConclusionReleaseByNumberSerializer, responses={201: ConclusionReleaseSerializer},
                   summary="A coordinator records a paper conclusion the family brought, by its number, under the "
                           "family's consent to the coordinator's organization")
    @action(detail=False, methods=["post"], url_path="by-number")
    def by_number(self, request):
        s = ConclusionReleaseByNumberSerializer(data=request.data, context=self.get_serializer_context())
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        release = services.release_by_number(request.user, data.pop("learner"), **data)
        return Response(self.get_serializer(release).data, status=status.HTTP_201_CREATED)
