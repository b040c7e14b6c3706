"""API of the core: tokens, the current user, organizations, territory, users (admin)."""

import django_filters
from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from birge.api.registry import route

from . import services
from .models import ApiToken, AuditEvent, Membership, Organization, Territory, User
from .roles import OrgKind


class TokenThrottle(AnonRateThrottle):
    scope = "token"


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(label=_("Username"))
    password = serializers.CharField(label=_("Password"), style={"input_type": "password"}, trim_whitespace=False)
    name = serializers.CharField(label=_("Name of the token"), required=False, allow_blank=True, max_length=100)


class ObtainToken(APIView):
    """Exchange a username and password for a token (``Authorization: Token <key>``)."""

    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = [TokenThrottle]

    @extend_schema(request=TokenRequestSerializer,
                   responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()})})
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request._request, username=data.validated_data["username"], password=data.validated_data["password"])
        if user is None or not user.is_active:
            raise AuthenticationFailed(_("The username or password is not right."))
        _token, key = services.issue_token(user, data.validated_data.get("name", "") or "api")
        return Response({"token": key})


class RevokeToken(APIView):
    """Revoke the token used for this request (or, with ``prefix``, one of your tokens)."""

    @extend_schema(request=inline_serializer("RevokeRequest", {"prefix": serializers.CharField(required=False)}),
                   responses={204: None})
    def post(self, request):
        prefix = request.data.get("prefix") if hasattr(request.data, "get") else None
        token = request.auth if isinstance(request.auth, ApiToken) and not prefix else None
        if token is None:
            token = ApiToken.objects.filter(user=request.user, prefix=prefix or "", revoked_at__isnull=True).first()
        if token is None:
            return Response({"detail": str(_("No such token.")), "code": "not_found"}, status=status.HTTP_404_NOT_FOUND)
        services.revoke_token(request.user, token)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MembershipSerializer(serializers.ModelSerializer):
    organization_name = serializers.CharField(source="organization.__str__", read_only=True, default=None)

    class Meta:
        model = Membership
        fields = ["id", "role", "organization", "organization_name", "starts_on", "ends_on", "fte"]


class UserSerializer(serializers.ModelSerializer):
    memberships = MembershipSerializer(many=True, read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "full_name", "email", "preferred_language", "is_active", "memberships"]
        read_only_fields = ["is_active"]


class Me(APIView):
    """The signed-in user with their roles."""

    @extend_schema(responses=UserSerializer)
    def get(self, request):
        return Response(UserSerializer(request.user).data)


class TerritorySerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Territory
        fields = ["id", "code", "level", "name_ky", "name_ru", "name_en", "iso_code", "parent", "is_urban",
                  "valid_from", "valid_to", "is_synthetic"]


class TerritoryFilter(django_filters.FilterSet):
    parent = django_filters.CharFilter(field_name="parent__code")
    within = django_filters.CharFilter(method="filter_within", label=_("Inside the unit with this code"))

    class Meta:
        model = Territory
        fields = ["level", "parent", "code"]

    def filter_within(self, qs, name, value):
        unit = Territory.objects.filter(code=value).first()
        return qs.within(unit.prefix).exclude(pk=unit.pk) if unit else qs.none()


@route("territories", "territory")
class TerritoryViewSet(viewsets.ReadOnlyModelViewSet):
    """The SOATE classifier (current units unless ``all=1``)."""

    serializer_class = TerritorySerializer
    filterset_class = TerritoryFilter
    lookup_field = "code"

    def get_queryset(self):
        qs = Territory.objects.select_related("parent")
        return qs if self.request.query_params.get("all") else qs.current()


class OrganizationSerializer(serializers.ModelSerializer):
    territory = serializers.SlugRelatedField(slug_field="code", queryset=Territory.objects.current())

    class Meta:
        model = Organization
        fields = ["id", "code", "kind", "name", "name_ru", "territory", "address", "phone", "email", "languages",
                  "is_active", "is_synthetic"]
        read_only_fields = ["is_synthetic"]


class OrganizationFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=OrgKind.choices)
    within = django_filters.CharFilter(method="filter_within", label=_("Inside the territory with this SOATE code"))

    class Meta:
        model = Organization
        fields = ["kind", "code", "is_active"]

    def filter_within(self, qs, name, value):
        unit = Territory.objects.filter(code=value).first()
        return qs.filter(territory__code__startswith=unit.prefix) if unit else qs.none()


class IsAdminForWrites(permissions.BasePermission):
    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or services.is_admin(request.user)


@route("organizations", "organization")
class OrganizationViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Organizations are public reference data; administrators change them."""

    serializer_class = OrganizationSerializer
    filterset_class = OrganizationFilter
    permission_classes = [permissions.IsAuthenticated, IsAdminForWrites]
    queryset = Organization.objects.select_related("territory").order_by("code")

    def perform_create(self, serializer):
        serializer.instance = services.save_organization(self.request.user, Organization(**serializer.validated_data), created=True)

    def perform_update(self, serializer):
        org = serializer.instance
        for k, v in serializer.validated_data.items():
            setattr(org, k, v)
        services.save_organization(self.request.user, org, created=False)


class AdminOnly(permissions.BasePermission):
    def has_permission(self, request, view):
        return services.is_admin(request.user)


@route("users", "user")
class UserViewSet(viewsets.ReadOnlyModelViewSet):
    """People and their roles (system administrators only)."""

    serializer_class = UserSerializer
    permission_classes = [permissions.IsAuthenticated, AdminOnly]
    queryset = User.objects.prefetch_related("memberships__organization").order_by("username")
    filterset_fields = ["is_active", "memberships__role"]


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", "at", "actor_name", "request_id", "action", "event", "object_type", "object_id", "learner_id",
                  "changes", "reason", "prev_hash", "hash"]


class AuditFilter(django_filters.FilterSet):
    since = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["action", "event", "object_type", "object_id"]


@route("audit-events", "audit-event")
class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit trail for a period (system administrators only)."""

    serializer_class = AuditEventSerializer
    permission_classes = [permissions.IsAuthenticated, AdminOnly]
    filterset_class = AuditFilter
    queryset = AuditEvent.objects.order_by("id")
