"""API of services delivered: service sessions, planned versus delivered minutes, handovers."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from birge.api.registry import extra, route
from birge.assessments.models import CatalogueItem
from birge.core.models import Organization
from birge.learners.models import Learner
from birge.plans.models import PlanService

from . import delivery, services
from .filters import HandoverFilter, SessionFilter
from .models import Handover, ServiceSession


@extend_schema_field(OpenApiTypes.INT)
class SupportLearnerField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        request = self.context.get("request")
        return Learner.objects.visible_to(request.user) if request else Learner.objects.none()


class ServiceSessionSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(source="plan_service.catalogue", slug_field="code", read_only=True)
    organization = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = ServiceSession
        fields = ["id", "plan_service", "service", "learner", "organization", "provider", "held_on", "minutes", "setting",
                  "attendance", "missed_reason", "note", "recorded_at", "withdrawn_at", "withdrawal_reason"]
        read_only_fields = fields


class ServiceSessionCreateSerializer(serializers.Serializer):
    learner = SupportLearnerField()
    plan_service = serializers.PrimaryKeyRelatedField(queryset=PlanService.objects.all(), required=False, allow_null=True,
                                                      help_text=_("The planned service; or give `service` (a catalogue code)."))
    service = serializers.SlugRelatedField(slug_field="code", required=False, allow_null=True,
                                           queryset=CatalogueItem.objects.filter(kind="service"),
                                           help_text=_("Catalogue code of the service, e.g. speech-therapy."))
    held_on = serializers.DateField()
    minutes = serializers.IntegerField(min_value=1, max_value=480)
    setting = serializers.ChoiceField(choices=ServiceSession.Setting.choices, required=False,
                                      default=ServiceSession.Setting.INDIVIDUAL)
    attendance = serializers.ChoiceField(choices=ServiceSession.Attendance.choices, required=False,
                                         default=ServiceSession.Attendance.ATTENDED)
    missed_reason = serializers.ChoiceField(choices=ServiceSession.MissedReason.choices, required=False, allow_blank=True,
                                            default="")
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ServiceSessionWithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


@extend_schema_view(
    list=extend_schema(summary="Service sessions you may see"),
    create=extend_schema(request=ServiceSessionCreateSerializer, responses={201: ServiceSessionSerializer},
                         summary="Log a session of a service the learner's plan in force gives you"),
)
@route("service-sessions", "service-session")
class ServiceSessionViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = ServiceSessionSerializer
    filterset_class = SessionFilter

    def get_queryset(self):
        return ServiceSession.objects.visible_to(self.request.user).select_related(
            "plan_service__catalogue", "organization").order_by("-held_on", "-id")

    def create(self, request, *args, **kwargs):
        s = ServiceSessionCreateSerializer(data=request.data, context={"request": request})
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        session = services.log_session(request.user, **data)
        return Response(self.get_serializer(session).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ServiceSessionWithdrawSerializer, responses={200: ServiceSessionSerializer}, summary="Withdraw a mistaken entry")
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        session = self.get_object()
        s = ServiceSessionWithdrawSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.withdraw_session(request.user, session, reason=s.validated_data["reason"])
        return Response(self.get_serializer(session).data)


# --- planned versus delivered ---------------------------------------------------------------------------


class DeliveryRowSerializer(serializers.Serializer):
    key = serializers.IntegerField(allow_null=True, help_text=_("Id of the learner, organization or district."))
    label = serializers.CharField()
    planned = serializers.IntegerField(help_text=_("Planned minutes in the period."))
    delivered = serializers.IntegerField(help_text=_("Minutes of sessions held and attended."))
    gap = serializers.IntegerField(help_text=_("Planned minutes not delivered."))
    share = serializers.IntegerField(allow_null=True, help_text=_("Delivered as a percentage of planned."))
    sessions = serializers.IntegerField()
    missed = serializers.IntegerField()


class DeliveryResponseSerializer(serializers.Serializer):
    group = serializers.CharField()
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    rows = DeliveryRowSerializer(many=True)
    total = DeliveryRowSerializer()


class DeliveryQuerySerializer(serializers.Serializer):
    group = serializers.ChoiceField(choices=list(delivery.GROUPS), required=False, default="learner")
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    organization = serializers.PrimaryKeyRelatedField(queryset=Organization.objects.all(), required=False)

    def validate(self, data):
        date_to = data.get("date_to") or timezone.localdate()
        date_from = data.get("date_from") or date_to.replace(day=1)
        if date_from > date_to:
            raise serializers.ValidationError({"date_to": [_("The end date is before the start date.")]})
        if date_to - date_from > dt.timedelta(days=366):
            raise serializers.ValidationError({"date_from": [_("Choose a period of at most a year.")]})
        return {**data, "date_from": date_from, "date_to": date_to}


class PlannedVsDelivered(APIView):
    """Planned versus delivered minutes per learner, organization or district, over the records you may read."""

    @extend_schema(parameters=[
        OpenApiParameter("group", str, enum=list(delivery.GROUPS), description="learner (default), organization or district"),
        OpenApiParameter("date_from", OpenApiTypes.DATE, description="Default: the first day of the month of date_to"),
        OpenApiParameter("date_to", OpenApiTypes.DATE, description="Default: today"),
        OpenApiParameter("organization", int, description="Only this organization (id)"),
    ], responses={200: DeliveryResponseSerializer}, summary="Planned versus delivered minutes, and the gap")
    def get(self, request):
        q = DeliveryQuerySerializer(data=request.query_params)
        q.is_valid(raise_exception=True)
        d = q.validated_data
        rows = delivery.planned_vs_delivered(request.user, date_from=d["date_from"], date_to=d["date_to"], group=d["group"],
                                             organization=d.get("organization"))
        row = lambda r: {"key": r.key, "label": r.label, "planned": r.planned, "delivered": r.delivered, "gap": r.gap,  # noqa: E731
                         "share": r.share, "sessions": r.sessions, "missed": r.missed}
        return Response({"group": d["group"], "date_from": d["date_from"], "date_to": d["date_to"],
                         "rows": [row(r) for r in rows], "total": row(delivery.totals(rows))})


extra("planned-vs-delivered/", PlannedVsDelivered.as_view(), "api-planned-vs-delivered")


# --- handovers ---------------------------------------------------------------------------------------------


class HandoverSerializer(serializers.ModelSerializer):
    from_organization = serializers.SlugRelatedField(slug_field="code", read_only=True)
    to_organization = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Handover
        fields = ["id", "learner", "from_organization", "to_organization", "consent", "enrolment", "from_plan", "to_plan",
                  "summary", "note", "created_at"]
        read_only_fields = fields


class HandoverCreateSerializer(serializers.Serializer):
    learner = SupportLearnerField()
    to_organization = serializers.SlugRelatedField(slug_field="code", queryset=Organization.objects.all(),
                                                   help_text=_("Code of the receiving organization."))
    from_organization = serializers.SlugRelatedField(slug_field="code", queryset=Organization.objects.all(), required=False,
                                                     allow_null=True, help_text=_("Code of the organization the learner leaves."))
    effective_from = serializers.DateField(required=False, allow_null=True)


@extend_schema_view(
    list=extend_schema(summary="Handovers you may see (sending or receiving organization, family, territory)"),
    create=extend_schema(request=HandoverCreateSerializer, responses={201: HandoverSerializer},
                         summary="Hand a learner over, with the family's handover consent to the receiving organization"),
)
@route("handovers", "handover")
class HandoverViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = HandoverSerializer
    filterset_class = HandoverFilter

    def get_queryset(self):
        return Handover.objects.visible_to(self.request.user).select_related("from_organization", "to_organization").order_by(
            "-created_at", "-id")

    def create(self, request, *args, **kwargs):
        s = HandoverCreateSerializer(data=request.data, context={"request": request})
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        handover = services.hand_over(request.user, data.pop("learner"), **data)
        return Response(self.get_serializer(handover).data, status=status.HTTP_201_CREATED)
