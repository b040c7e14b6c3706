"""API of early identification and referrals, and of the deadline mechanism and notifications.

Reads go through ``visible_to`` (a record out of reach is a 404); writes call the services, so the
workflow table, the access policy, deadlines and the audit trail are the same as on the pages.

* ``/api/v1/referrals/`` — list (``state``, ``kind``, ``queue``, ``overdue``, ``q``, ``learner``),
  retrieve, create, PATCH a draft; actions ``submit``, ``accept``, ``schedule``, ``mark-assessed``,
  ``conclude``, ``withdraw``, ``decline`` (POST) and ``history`` (GET).
* ``/api/v1/referral-observations/``, ``/api/v1/referral-attachments/`` (``…/{id}/download/``).
* ``/api/v1/concerns/`` — developmental concerns (0-3); creating one opens an early-intervention referral.
* ``/api/v1/deadlines/`` — the user's deadlines (``?overdue=1``, ``status``, ``clock``, ``mine``);
  ``POST …/{id}/delay-reason/``.
* ``/api/v1/notifications/`` — the user's own; ``POST …/{id}/read/``, ``POST …/read-all/``.
"""

from __future__ import annotations

from django.http import FileResponse, Http404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from birge.api.registry import route
from birge.core import deadlines
from birge.core.deadline_models import Clock, Deadline, Notification
from birge.core.models import AuditEvent, Organization
from birge.learners.models import Learner

from . import services
from .filters import (
    AttachmentFilter, ConcernFilter, DeadlineFilter, NotificationFilter, ObservationFilter, ReferralFilter, queue_order,
    with_clocks,
)
from .models import Attachment, Concern, Domain, Observation, Referral

# --- fields -------------------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.INT)
class VisibleLearnerField(serializers.PrimaryKeyRelatedField):
    """A learner id; learners out of the user's reach do not exist here."""

    def get_queryset(self):
        request = self.context.get("request")
        return Learner.objects.visible_to(request.user).select_related("territory") if request else Learner.objects.none()


@extend_schema_field(OpenApiTypes.INT)
class VisibleReferralField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        request = self.context.get("request")
        return Referral.objects.visible_to(request.user) if request else Referral.objects.none()


def org_field(**kwargs):
    return serializers.SlugRelatedField(slug_field="code", queryset=Organization.objects.all(), **kwargs)


class ReferralReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(label=_("Reason"), max_length=2000)


class ScheduleSerializer(serializers.Serializer):
    appointment_at = serializers.DateTimeField(label=_("Date and time of the assessment"))
    appointment_place = serializers.CharField(label=_("Place"), max_length=300, required=False, allow_blank=True, default="")


class ReferralHistorySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", "at", "actor_name", "action", "event", "object_type", "object_id", "changes", "reason"]


# --- referrals ------------------------------------------------------------------------------------------


class ReferralSerializer(serializers.ModelSerializer):
    learner = serializers.PrimaryKeyRelatedField(read_only=True)
    learner_name = serializers.CharField(source="learner.full_name", read_only=True)
    receiving_organization = serializers.SlugRelatedField(slug_field="code", read_only=True)
    referring_organization = serializers.SlugRelatedField(slug_field="code", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None)
    due_on = serializers.DateField(read_only=True, default=None, help_text=_("The day the nearest running deadline falls due."))
    due_clock = serializers.ChoiceField(choices=Clock.choices, read_only=True, default=None)
    overdue = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField(help_text=_("The actions you may take now."))

    class Meta:
        model = Referral
        fields = ["id", "kind", "learner", "learner_name", "state", "receiving_organization", "referring_organization",
                  "by_parent", "created_by", "reason", "tried", "consent", "appointment_at", "appointment_place",
                  "created_at", "submitted_at", "accepted_at", "scheduled_at", "assessed_at", "concluded_at", "closed_at",
                  "close_reason", "due_on", "due_clock", "overdue", "allowed_actions"]
        read_only_fields = fields

    def get_overdue(self, obj) -> bool:
        from django.utils import timezone

        due = getattr(obj, "due_on", None)
        return bool(due and due < timezone.localdate())

    def get_allowed_actions(self, obj) -> list[str]:
        request = self.context.get("request")
        return [t.slug for t in services.allowed_transitions(request.user, obj)] if request else []


class ReferralCreateSerializer(serializers.Serializer):
    learner = VisibleLearnerField(help_text=_("Id of the learner."))
    kind = serializers.ChoiceField(choices=Referral.Kind.choices, default=Referral.Kind.PMPK)
    receiving_organization = org_field(required=False, allow_null=True, help_text=_(
        "Code of the PMPK (default: the territorial PMPK of the child's district)."))
    referring_organization = org_field(required=False, allow_null=True, help_text=_(
        "Code of the organization on whose behalf you refer (default: your first one)."))
    reason = serializers.CharField(max_length=5000, allow_blank=True, required=False, default="")
    tried = serializers.CharField(max_length=5000, allow_blank=True, required=False, default="")
    parent_consent = serializers.BooleanField(required=False, default=False, help_text=_(
        "A parent referring their own child agrees to the assessment (recorded as a consent)."))
    submit = serializers.BooleanField(required=False, default=False, help_text=_("Submit at once instead of keeping a draft."))


class ReferralUpdateSerializer(serializers.Serializer):
    receiving_organization = org_field(required=False)
    reason = serializers.CharField(max_length=5000, allow_blank=True, required=False)
    tried = serializers.CharField(max_length=5000, allow_blank=True, required=False)


def _transition_endpoint(name: str, request_serializer=None):
    """One POST action per workflow transition (``/referrals/{id}/<slug>/``), calling the service."""
    t = services.TRANSITIONS[name]

    def endpoint(self, request, pk=None):
        referral = self.get_object()
        data = {}
        if request_serializer is not None:
            s = request_serializer(data=request.data)
            s.is_valid(raise_exception=True)
            data = dict(s.validated_data)
        services.perform(request.user, referral, name, **data)
        return Response(self.get_serializer(self.get_queryset().get(pk=referral.pk)).data)

    endpoint.__name__ = name  # the router maps the method by this name
    endpoint = action(detail=True, methods=["post"], url_path=t.slug, url_name=t.slug, filter_backends=[])(endpoint)
    return extend_schema(
        request=request_serializer, filters=False, summary=str(t.label),
        description=f"{' | '.join(t.sources)} → {t.target}. Parties: {', '.join(sorted(t.parties))}.",
        responses={200: ReferralSerializer,
                   400: OpenApiResponse(description=_("Not possible in this state, or invalid input: a field map.")),
                   403: OpenApiResponse(description=_("Your role may not take this action on this referral.")),
                   404: OpenApiResponse(description=_("No such referral within your reach."))},
    )(endpoint)


@extend_schema_view(
    list=extend_schema(summary="Referrals you may see: the PMPK's queue, the referrer's, a parent's children's (overdue first)"),
    retrieve=extend_schema(summary="A referral"),
    create=extend_schema(summary="Open a referral (a draft, or submitted with `submit`)", request=ReferralCreateSerializer,
                         responses={201: ReferralSerializer}),
    partial_update=extend_schema(summary="Change a draft (the referrer)", request=ReferralUpdateSerializer,
                                 responses={200: ReferralSerializer}),
)
@route("referrals", "referral")
class ReferralViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = ReferralSerializer
    filterset_class = ReferralFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no database needed
            return Referral.objects.none()
        qs = Referral.objects.visible_to(self.request.user).select_related(
            "learner", "receiving_organization", "referring_organization", "created_by")
        return queue_order(with_clocks(qs))

    def create(self, request, *args, **kwargs):
        s = ReferralCreateSerializer(data=request.data, context=self.get_serializer_context())
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        learner = data.pop("learner")
        referral = services.create_referral(request.user, learner, **data)
        return Response(self.get_serializer(self.get_queryset().get(pk=referral.pk)).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        referral = self.get_object()
        s = ReferralUpdateSerializer(data=request.data, partial=True)
        s.is_valid(raise_exception=True)
        services.update_referral(request.user, referral, **s.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=referral.pk)).data)

    submit = _transition_endpoint("submit")
    accept = _transition_endpoint("accept")
    schedule = _transition_endpoint("schedule", ScheduleSerializer)
    mark_assessed = _transition_endpoint("mark_assessed")
    conclude = _transition_endpoint("conclude")
    withdraw = _transition_endpoint("withdraw", ReferralReasonSerializer)
    decline = _transition_endpoint("decline", ReferralReasonSerializer)

    @extend_schema(responses={200: ReferralHistorySerializer(many=True)}, filters=False,
                   summary="The referral's audit trail (with its observations, documents and deadlines)")
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def history(self, request, pk=None):
        referral = self.get_object()
        return Response(ReferralHistorySerializer(services.history(request.user, referral), many=True).data)


# --- observations and attachments --------------------------------------------------------------------------


class ObservationSerializer(serializers.ModelSerializer):
    referral = VisibleReferralField()
    domain = serializers.ChoiceField(choices=Domain.choices)
    observed_by = serializers.CharField(source="observed_by.username", read_only=True, default=None)
    organization = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Observation
        fields = ["id", "referral", "domain", "text", "strengths", "observed_by", "organization", "recorded_at"]
        read_only_fields = ["recorded_at"]


@extend_schema_view(create=extend_schema(summary="Add an observation by area of functioning (draft or submitted referrals)"))
@route("referral-observations", "referral-observation")
class ObservationViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = ObservationSerializer
    filterset_class = ObservationFilter

    def get_queryset(self):
        return Observation.objects.visible_to(self.request.user).select_related("observed_by", "organization").order_by("pk")

    def create(self, request, *args, **kwargs):
        s = self.get_serializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        obs = services.add_observation(request.user, data.pop("referral"), **data)
        return Response(self.get_serializer(obs).data, status=status.HTTP_201_CREATED)


class AttachmentSerializer(serializers.ModelSerializer):
    referral = VisibleReferralField()
    file = serializers.FileField(write_only=True, help_text=_("PDF, JPEG or PNG, up to 10 MB."))
    uploaded_by = serializers.CharField(source="uploaded_by.username", read_only=True, default=None)
    download = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "referral", "file", "original_name", "content_type", "size", "description", "uploaded_by",
                  "uploaded_at", "download"]
        read_only_fields = ["original_name", "content_type", "size", "uploaded_at"]

    def get_download(self, obj) -> str:
        return reverse("referral-attachment-download", args=[obj.pk])


@extend_schema_view(create=extend_schema(summary="Upload a document to a referral (multipart)"))
@route("referral-attachments", "referral-attachment")
class AttachmentViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = AttachmentSerializer
    filterset_class = AttachmentFilter
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self):
        return Attachment.objects.visible_to(self.request.user).select_related("uploaded_by").order_by("pk")

    def create(self, request, *args, **kwargs):
        s = self.get_serializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        att = services.add_attachment(request.user, data["referral"], file=data["file"], description=data.get("description", ""))
        return Response(self.get_serializer(att).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY}, filters=False,
                   summary="Download the document (opening it is recorded)")
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def download(self, request, pk=None):
        attachment = self.get_object()
        try:
            handle = attachment.file.open("rb")
        except (FileNotFoundError, ValueError):
            raise Http404 from None
        services.opened_attachment(request.user, attachment)
        return FileResponse(handle, content_type=attachment.content_type, as_attachment=True, filename=attachment.original_name)


# --- concerns -----------------------------------------------------------------------------------------------


class ConcernSerializer(serializers.ModelSerializer):
    learner = VisibleLearnerField()
    noticed = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=2000), help_text=_(
        "What was noticed, by area of functioning: {\"communication\": \"…\", …} (area codes as in `domain`)."))
    organization = serializers.SlugRelatedField(slug_field="code", read_only=True)
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True, default=None)

    class Meta:
        model = Concern
        fields = ["id", "learner", "noticed_on", "place", "place_detail", "reporter", "noticed", "summary", "organization",
                  "recorded_by", "recorded_at", "referral"]
        read_only_fields = ["reporter", "recorded_at", "referral"]


@extend_schema_view(create=extend_schema(summary="Record a developmental concern (0-3); it opens an early-intervention referral"))
@route("concerns", "concern")
class ConcernViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = ConcernSerializer
    filterset_class = ConcernFilter

    def get_queryset(self):
        return Concern.objects.visible_to(self.request.user).select_related("organization", "recorded_by").order_by("-noticed_on", "-pk")

    def create(self, request, *args, **kwargs):
        s = self.get_serializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        concern = services.record_concern(request.user, data.pop("learner"), **data)
        return Response(self.get_serializer(concern).data, status=status.HTTP_201_CREATED)


# --- deadlines and notifications ----------------------------------------------------------------------------


class DeadlineSerializer(serializers.ModelSerializer):
    clock_label = serializers.CharField(source="get_clock_display", read_only=True)
    record_type = serializers.SerializerMethodField()
    learner = serializers.IntegerField(source="learner_id", read_only=True, allow_null=True)
    owner_organization = serializers.SlugRelatedField(slug_field="code", read_only=True)
    waiting_organization = serializers.SlugRelatedField(slug_field="code", read_only=True)
    status = serializers.CharField(read_only=True, help_text=_("overdue, due-soon, open, met, met-late or cancelled"))
    link = serializers.SerializerMethodField(help_text=_("The page of the record the work is about."))

    class Meta:
        model = Deadline
        fields = ["id", "clock", "clock_label", "record_type", "object_id", "learner", "owner_organization", "owner_user",
                  "waiting_organization", "waiting_user", "started_at", "days", "due_on", "status", "met_at", "cancelled_at",
                  "cancel_reason", "delay_reason", "delay_recorded_at", "link"]
        read_only_fields = fields

    def get_record_type(self, obj) -> str:
        return f"{obj.content_type.app_label}.{obj.content_type.model}"

    def get_link(self, obj) -> str:
        return obj.link if hasattr(obj, "link") else deadlines.link_for(obj, self.context["request"].user)


@extend_schema_view(list=extend_schema(summary="Deadlines you see (yours, your organization's, in your reach); `?overdue=1`"))
@route("deadlines", "deadline")
class DeadlineViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DeadlineSerializer
    filterset_class = DeadlineFilter

    def get_queryset(self):
        return Deadline.objects.visible_to(self.request.user).select_related(
            "content_type", "owner_organization", "waiting_organization").order_by("due_on", "id")

    def list(self, request, *args, **kwargs):
        qs = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(qs)
        items = deadlines.attach_links(page if page is not None else qs, request.user)
        data = self.get_serializer(items, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    @extend_schema(request=ReferralReasonSerializer, responses={200: DeadlineSerializer}, filters=False,
                   summary="Record why the work is late (owners only)")
    @action(detail=True, methods=["post"], url_path="delay-reason", filter_backends=[])
    def delay_reason(self, request, pk=None):
        deadline = deadlines.get_visible_or_404(request.user, pk)
        s = ReferralReasonSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        deadlines.record_delay_reason(request.user, deadline, s.validated_data["reason"])
        return Response(self.get_serializer(Deadline.objects.get(pk=deadline.pk)).data)


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "text", "link", "event", "created_at", "read_at"]
        read_only_fields = fields


@extend_schema_view(list=extend_schema(summary="Your notifications (`?unread=1`)"))
@route("notifications", "notification")
class NotificationViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        return Notification.objects.filter(user=self.request.user).order_by("-created_at", "-id")

    @extend_schema(request=None, responses={200: NotificationSerializer}, filters=False, summary="Mark as read")
    @action(detail=True, methods=["post"], filter_backends=[])
    def read(self, request, pk=None):
        notification = self.get_object()
        deadlines.mark_read(request.user, notification)
        return Response(self.get_serializer(notification).data)

    @extend_schema(request=None, responses={200: inline_serializer("ReadAll", {"marked": serializers.IntegerField()})},
                   filters=False, summary="Mark all as read")
    @action(detail=False, methods=["post"], url_path="read-all", filter_backends=[], pagination_class=None)
    def read_all(self, request):
        return Response({"marked": deadlines.mark_all_read(request.user)})

