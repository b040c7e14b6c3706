"""API of individual education plans: plans and their versions with the workflow actions, goals,
accommodations, planned services, team members and reviews.

Reads go through ``visible_to`` (out of reach is 404); writes call the services. Every write carries
the plan's ``lock_version`` as the client last read it: a write based on an older value is refused
with a 400 on ``lock_version`` (no lost update).
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from birge.api.registry import route
from birge.assessments.models import CatalogueItem
from birge.core import documents
from birge.core.models import Organization, User
from birge.learners.models import FormOfEducation, Guardian, Learner, Programme

from . import services
from .filters import PlanFilter
from .models import (
    AccommodationKind, Agreement, GoalArea, GoalProgress, IndividualPlan, MemberRole, PlanAccommodation, PlanGoal,
    PlanMember, PlanReview, PlanService, Progress, ReviewDecision,
)

LOCK_HELP = _("The plan's lock_version as you last read it; a write based on an older value is refused.")


def lock_field():
    return serializers.IntegerField(min_value=0, help_text=LOCK_HELP)


@extend_schema_field(OpenApiTypes.INT)
class PlanLearnerField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        request = self.context.get("request")
        return Learner.objects.visible_to(request.user) if request else Learner.objects.none()


@extend_schema_field(OpenApiTypes.INT)
class VisiblePlanField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        request = self.context.get("request")
        return IndividualPlan.objects.visible_to(request.user) if request else IndividualPlan.objects.none()


def catalogue_field(kinds, **kwargs):
    return serializers.SlugRelatedField(slug_field="code", queryset=CatalogueItem.objects.filter(kind__in=kinds), **kwargs)


def org_field(**kwargs):
    return serializers.SlugRelatedField(slug_field="code", queryset=Organization.objects.all(), **kwargs)


def user_field(**kwargs):
    return serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True), **kwargs)


# --- read serializers --------------------------------------------------------------------------------------


class PlanGoalSerializer(serializers.ModelSerializer):
    class Meta:
        model = PlanGoal
        fields = ["id", "plan", "area", "description", "baseline", "target", "measure", "criteria", "review_on", "position",
                  "origin"]


class PlanAccommodationSerializer(serializers.ModelSerializer):
    catalogue = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = PlanAccommodation
        fields = ["id", "plan", "kind", "catalogue", "description", "from_conclusion", "position"]


class PlanServiceSerializer(serializers.ModelSerializer):
    catalogue = serializers.SlugRelatedField(slug_field="code", read_only=True)
    provider_organization = serializers.SlugRelatedField(slug_field="code", read_only=True)
    provider_name = serializers.SerializerMethodField()

    class Meta:
        model = PlanService
        fields = ["id", "plan", "catalogue", "provider_user", "provider_organization", "provider_name", "minutes_per_week",
                  "starts_on", "ends_on", "notes", "from_conclusion", "origin"]

    def get_provider_name(self, obj) -> str:
        return str(obj.provider) if obj.has_provider else ""


class PlanMemberSerializer(serializers.ModelSerializer):
    display_name = serializers.CharField(read_only=True)

    class Meta:
        model = PlanMember
        fields = ["id", "plan", "role", "user", "guardian", "name", "display_name"]


class PlanGoalProgressSerializer(serializers.ModelSerializer):
    class Meta:
        model = GoalProgress
        fields = ["goal", "rating", "comment"]


class PlanReviewSerializer(serializers.ModelSerializer):
    progress = PlanGoalProgressSerializer(many=True, read_only=True)

    class Meta:
        model = PlanReview
        fields = ["id", "plan", "held_on", "decision", "summary", "family_present", "next_review_on", "recorded_at", "progress"]


class IndividualPlanSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="code", read_only=True)
    learner_name = serializers.CharField(source="learner.full_name", read_only=True)
    goals = PlanGoalSerializer(many=True, read_only=True)
    accommodations = PlanAccommodationSerializer(many=True, read_only=True)
    services = PlanServiceSerializer(many=True, read_only=True)
    members = PlanMemberSerializer(many=True, read_only=True)

    class Meta:
        model = IndividualPlan
        fields = ["id", "series", "version", "previous", "learner", "learner_name", "organization", "enrolment", "conclusion",
                  "own_basis", "state", "effective_from", "review_on", "form", "programme", "tutor", "timetable_notes",
                  "strengths", "amendment_reason", "agreement", "agreed_by", "agreed_at", "agreement_note", "proposed_at",
                  "activated_at", "closed_at", "close_reason", "created_at", "lock_version", "goals", "accommodations",
                  "services", "members"]
        read_only_fields = fields


# --- write serializers -------------------------------------------------------------------------------------


class PlanCreateSerializer(serializers.Serializer):
    learner = PlanLearnerField()
    organization = org_field(required=False, help_text=_("Code of your organization (default: where the learner is enrolled)."))
    own_basis = serializers.CharField(required=False, allow_blank=True, help_text=_(
        "Required when no PMPK conclusion is released to the organization."))
    review_on = serializers.DateField(required=False, allow_null=True)


class PlanUpdateSerializer(serializers.Serializer):
    lock_version = lock_field()
    review_on = serializers.DateField(required=False)
    form = serializers.ChoiceField(choices=FormOfEducation.choices, required=False)
    programme = serializers.ChoiceField(choices=Programme.choices, required=False)
    tutor = user_field(required=False, allow_null=True)
    timetable_notes = serializers.CharField(required=False, allow_blank=True)
    strengths = serializers.CharField(required=False, allow_blank=True)
    own_basis = serializers.CharField(required=False, allow_blank=True)
    effective_from = serializers.DateField(required=False, allow_null=True)
    amendment_reason = serializers.CharField(required=False, allow_blank=True)


class PlanLockSerializer(serializers.Serializer):
    lock_version = lock_field()


class PlanReasonSerializer(PlanLockSerializer):
    reason = serializers.CharField(max_length=2000)


class PlanAgreeSerializer(PlanLockSerializer):
    method = serializers.ChoiceField(choices=Agreement.choices, help_text=_(
        "in-system: the parent agrees themselves; paper or not-obtained: recorded by the coordinator."))
    guardian = serializers.PrimaryKeyRelatedField(queryset=Guardian.objects.all(), required=False, allow_null=True,
                                                  help_text=_("Who signed, for paper."))
    agreed_on = serializers.DateField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, help_text=_("The reason, for not-obtained."))


class PlanActivateSerializer(PlanLockSerializer):
    effective_from = serializers.DateField(required=False, allow_null=True)


class PlanAmendSerializer(PlanLockSerializer):
    effective_from = serializers.DateField()
    reason = serializers.CharField(max_length=2000)


class PlanProgressInputSerializer(serializers.Serializer):
    goal = serializers.IntegerField()
    rating = serializers.ChoiceField(choices=Progress.choices)
    comment = serializers.CharField(required=False, allow_blank=True)


class PlanReviewInputSerializer(PlanLockSerializer):
    held_on = serializers.DateField()
    decision = serializers.ChoiceField(choices=ReviewDecision.choices)
    progress = PlanProgressInputSerializer(many=True)
    summary = serializers.CharField(required=False, allow_blank=True)
    family_present = serializers.BooleanField(required=False, default=False)
    next_review_on = serializers.DateField(required=False, allow_null=True)
    amendment_effective_from = serializers.DateField(required=False, allow_null=True)


def _data(serializer_class, request, **context):
    s = serializer_class(data=request.data, context={"request": request, **context})
    s.is_valid(raise_exception=True)
    return dict(s.validated_data)


def _plan_queryset(user):
    return IndividualPlan.objects.visible_to(user).select_related("learner", "organization").prefetch_related(
        "goals", Prefetch("accommodations", PlanAccommodation.objects.select_related("catalogue")),
        Prefetch("services", PlanService.objects.select_related("catalogue", "provider_user", "provider_organization")),
        Prefetch("members", PlanMember.objects.select_related("user", "guardian"))).order_by("-id")


@extend_schema_view(
    list=extend_schema(summary="Plan versions you may see (by default the current ones: not closed or replaced)"),
    retrieve=extend_schema(summary="One plan version with its goals, accommodations, services and team"),
    create=extend_schema(request=PlanCreateSerializer, responses={201: IndividualPlanSerializer},
                         summary="Start a plan (draft, version 1) from the binding conclusion or the organization's own basis"),
    partial_update=extend_schema(request=PlanUpdateSerializer, responses={200: IndividualPlanSerializer},
                                 summary="Change the details of a draft"),
)
@route("plans", "plan")
class PlanViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = IndividualPlanSerializer
    filterset_class = PlanFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return _plan_queryset(self.request.user)

    def create(self, request, *args, **kwargs):
        data = _data(PlanCreateSerializer, request)
        plan = services.create_plan(request.user, data.pop("learner"), **data)
        return Response(self.get_serializer(_plan_queryset(request.user).get(pk=plan.pk)).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        plan = self.get_object()
        data = _data(PlanUpdateSerializer, request)
        services.update_plan(request.user, plan, **data)
        return self._fresh(plan)

    def _fresh(self, plan, code=status.HTTP_200_OK):
        return Response(self.get_serializer(_plan_queryset(self.request.user).get(pk=plan.pk)).data, status=code)

    @extend_schema(request=PlanLockSerializer, responses={200: IndividualPlanSerializer}, summary="Propose the draft to the family")
    @action(detail=True, methods=["post"])
    def propose(self, request, pk=None):
        plan = self.get_object()
        services.propose(request.user, plan, **_data(PlanLockSerializer, request))
        return self._fresh(plan)

    @extend_schema(request=PlanReasonSerializer, responses={200: IndividualPlanSerializer},
                   summary="Return a proposed plan to draft (the coordinator, or the family asking for changes)")
    @action(detail=True, methods=["post"], url_path="return-to-draft")
    def return_to_draft(self, request, pk=None):
        plan = self.get_object()
        services.return_to_draft(request.user, plan, **_data(PlanReasonSerializer, request))
        return self._fresh(plan)

    @extend_schema(request=PlanAgreeSerializer, responses={200: IndividualPlanSerializer},
                   summary="Record the family's agreement (stops the release-to-plan clock)")
    @action(detail=True, methods=["post"])
    def agree(self, request, pk=None):
        plan = self.get_object()
        services.agree(request.user, plan, **_data(PlanAgreeSerializer, request))
        return self._fresh(plan)

    @extend_schema(request=PlanActivateSerializer, responses={200: IndividualPlanSerializer},
                   summary="Put an agreed version into force (an amendment replaces the version it changes)")
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        plan = self.get_object()
        services.activate(request.user, plan, **_data(PlanActivateSerializer, request))
        return self._fresh(plan)

    @extend_schema(request=PlanAmendSerializer, responses={201: IndividualPlanSerializer},
                   summary="Amend a plan in force: a new draft version effective from a date (the old one is not changed)")
    @action(detail=True, methods=["post"])
    def amend(self, request, pk=None):
        plan = self.get_object()
        new = services.amend(request.user, plan, **_data(PlanAmendSerializer, request))
        return self._fresh(new, status.HTTP_201_CREATED)

    @extend_schema(request=PlanReasonSerializer, responses={200: IndividualPlanSerializer}, summary="Close the plan, with a reason")
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        plan = self.get_object()
        services.close(request.user, plan, **_data(PlanReasonSerializer, request))
        return self._fresh(plan)

    @extend_schema(request=PlanLockSerializer, responses={200: IndividualPlanSerializer}, summary="Start the review of a plan in force")
    @action(detail=True, methods=["post"], url_path="start-review")
    def start_review(self, request, pk=None):
        plan = self.get_object()
        services.start_review(request.user, plan, **_data(PlanLockSerializer, request))
        return self._fresh(plan)

    @extend_schema(request=PlanReviewInputSerializer, responses={201: PlanReviewSerializer},
                   summary="Record a review: progress on every goal and the decision (continue, amend, close)")
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        plan = self.get_object()
        data = _data(PlanReviewInputSerializer, request)
        review = services.record_review(request.user, plan, **data)
        return Response(PlanReviewSerializer(review).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: IndividualPlanSerializer(many=True)}, summary="Every version of this plan you may see", filters=False)
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def versions(self, request, pk=None):
        plan = self.get_object()
        qs = _plan_queryset(request.user).filter(series=plan.series).order_by("version")
        return Response(self.get_serializer(qs, many=True).data)

    @extend_schema(parameters=[OpenApiParameter("lang", str, enum=["ky", "ru"], description=str(_(
        "Language of the document; default: the family's.")))], responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        summary="The plan as a tagged PDF in the family's language", filters=False)
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def document(self, request, pk=None):
        from .views import document_context, document_language

        plan = self.get_object()
        language = document_language(plan, request.query_params.get("lang"))
        pdf = documents.render_pdf("plans/plan_document.html", document_context(plan), language)
        return documents.pdf_response(pdf, f"plan-{plan.pk}-v{plan.version}-{language}.pdf")


# --- the parts of a draft ------------------------------------------------------------------------------------


class PlanGoalWriteSerializer(serializers.Serializer):
    lock_version = lock_field()
    area = serializers.ChoiceField(choices=GoalArea.choices)
    description = serializers.CharField()
    baseline = serializers.CharField()
    target = serializers.CharField()
    measure = serializers.CharField(max_length=300)
    criteria = serializers.CharField()
    review_on = serializers.DateField(required=False)
    position = serializers.IntegerField(min_value=0, required=False)


class PlanGoalCreateSerializer(PlanGoalWriteSerializer):
    plan = VisiblePlanField()


class PlanAccommodationWriteSerializer(serializers.Serializer):
    lock_version = lock_field()
    kind = serializers.ChoiceField(choices=AccommodationKind.choices, required=False)
    catalogue = catalogue_field(["condition", "test-accommodation", "device", "form"], required=False, allow_null=True)
    description = serializers.CharField(required=False, allow_blank=True)
    position = serializers.IntegerField(min_value=0, required=False)


class PlanAccommodationCreateSerializer(PlanAccommodationWriteSerializer):
    plan = VisiblePlanField()


class PlanServiceWriteSerializer(serializers.Serializer):
    lock_version = lock_field()
    catalogue = catalogue_field(["service"], required=False)
    provider_user = user_field(required=False, allow_null=True)
    provider_organization = org_field(required=False, allow_null=True)
    minutes_per_week = serializers.IntegerField(min_value=1, max_value=2400, required=False, allow_null=True)
    starts_on = serializers.DateField(required=False, allow_null=True)
    ends_on = serializers.DateField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=500)


class PlanServiceCreateSerializer(PlanServiceWriteSerializer):
    plan = VisiblePlanField()
    catalogue = catalogue_field(["service"])


class PlanMemberCreateSerializer(serializers.Serializer):
    plan = VisiblePlanField()
    lock_version = lock_field()
    role = serializers.ChoiceField(choices=MemberRole.choices)
    user = user_field(required=False, allow_null=True)
    guardian = serializers.PrimaryKeyRelatedField(queryset=Guardian.objects.all(), required=False, allow_null=True)
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)


def _part_viewset(model, read_serializer, create_serializer, update_serializer, add, change, remove, summary):
    """A viewset for one kind of plan part: list/retrieve, create, patch and remove (drafts only)."""

    @extend_schema_view(
        list=extend_schema(summary=str(summary)),
        create=extend_schema(request=create_serializer, responses={201: read_serializer}),
        partial_update=extend_schema(request=update_serializer, responses={200: read_serializer}) if update_serializer
        else extend_schema(exclude=True),
    )
    class PartViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
        serializer_class = read_serializer
        filterset_fields = ["plan"]
        http_method_names = ["get", "post", "patch", "head", "options"] if update_serializer else ["get", "post", "head",
                                                                                                    "options"]

        def get_queryset(self):
            return model.objects.visible_to(self.request.user).order_by("plan_id", "id")

        def create(self, request, *args, **kwargs):
            data = _data(create_serializer, request)
            obj = add(request.user, data.pop("plan"), **data)
            return Response(self.get_serializer(obj).data, status=status.HTTP_201_CREATED)

        def update(self, request, *args, **kwargs):
            obj = self.get_object()
            data = _data(update_serializer, request)
            obj = change(request.user, obj, **data)
            return Response(self.get_serializer(obj).data)

        @extend_schema(request=PlanLockSerializer, responses={204: None}, summary="Remove from a draft")
        @action(detail=True, methods=["post"])
        def remove(self, request, pk=None):
            obj = self.get_object()
            remove(request.user, obj, **_data(PlanLockSerializer, request))
            return Response(status=status.HTTP_204_NO_CONTENT)

    PartViewSet.__name__ = f"{model.__name__}ViewSet"
    PartViewSet.__qualname__ = PartViewSet.__name__
    return PartViewSet


route("plan-goals", "plan-goal")(_part_viewset(
    PlanGoal, PlanGoalSerializer, PlanGoalCreateSerializer, PlanGoalWriteSerializer, services.add_goal, services.update_goal,
    services.remove_goal, _("Goals of the plans you may see")))
route("plan-accommodations", "plan-accommodation")(_part_viewset(
    PlanAccommodation, PlanAccommodationSerializer, PlanAccommodationCreateSerializer, PlanAccommodationWriteSerializer,
    services.add_accommodation, services.update_accommodation, services.remove_accommodation,
    _("Accommodations and modifications of the plans you may see")))
route("plan-services", "plan-service")(_part_viewset(
    PlanService, PlanServiceSerializer, PlanServiceCreateSerializer, PlanServiceWriteSerializer, services.add_service,
    services.update_service, services.remove_service, _("Planned services of the plans you may see")))
route("plan-members", "plan-member")(_part_viewset(
    PlanMember, PlanMemberSerializer, PlanMemberCreateSerializer, None, services.add_member, None, services.remove_member,
    _("Team members of the plans you may see")))


@extend_schema_view(list=extend_schema(summary="Reviews of the plans you may see (record one with POST /plans/{id}/review/)"))
@route("plan-reviews", "plan-review")
class PlanReviewViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = PlanReviewSerializer
    filterset_fields = ["plan", "decision"]

    def get_queryset(self):
        return PlanReview.objects.visible_to(self.request.user).prefetch_related("progress").order_by("-held_on", "-id")
