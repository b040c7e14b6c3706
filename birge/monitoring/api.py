"""API of monitoring: the indicator catalogue and indicator values.

    GET /api/v1/indicators/                          the catalogue
    GET /api/v1/indicators/<code>/                   one indicator
    GET /api/v1/indicators/<code>/values/?period=2025-2026&by=region,sex[&disclosure=internal][&scope=…]

Values are *published* figures (small counts hidden, with the reason) unless
``disclosure=internal`` is asked by a user with a monitoring role, who then
gets unsuppressed figures of their own jurisdiction only.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from django.http import Http404
from django.utils.translation import gettext as _

from birge.api.registry import route

from . import disclosure, engine, present, scope as scopes, sources
from .engine import ByError
from .models import Indicator
from .periods import PeriodError, parse


class IndicatorSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()
    description = serializers.SerializerMethodField()
    names = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    missing_sources = serializers.SerializerMethodField()

    class Meta:
        model = Indicator
        fields = ["code", "name", "description", "names", "group", "kind", "unit", "direction", "numerator", "denominator",
                  "share_of", "disaggregations", "standard", "sources", "sdg", "key", "catalogue_version", "status",
                  "missing_sources"]

    def get_name(self, obj) -> str:
        return obj.name

    def get_description(self, obj) -> str:
        return obj.description

    def get_names(self, obj) -> dict:
        return {"ky": obj.name_ky, "ru": obj.name_ru, "en": obj.name_en}

    def _missing(self, obj):
        try:
            return engine.plan_for(obj).unwired()
        except Exception:  # a definition that no longer parses: say so rather than fail the catalogue
            return ["definition"]

    def get_status(self, obj) -> str:
        return "unavailable" if self._missing(obj) else "available"

    def get_missing_sources(self, obj) -> list[dict]:
        return [{"source": k, "label": sources.label(k)} for k in self._missing(obj)]


VALUES_PARAMS = [
    OpenApiParameter("period", OpenApiTypes.STR, description="School year (2025-2026) or date range (2025-09-01..2026-05-31). Default: the current school year."),
    OpenApiParameter("by", OpenApiTypes.STR, description="Comma-separated disaggregations, e.g. region,sex."),
    OpenApiParameter("disclosure", OpenApiTypes.STR, enum=["published", "internal"],
                     description="published (default): small counts hidden. internal: unsuppressed, own jurisdiction only."),
    OpenApiParameter("scope", OpenApiTypes.STR, description="national, t:<SOATE code> or o:<organization code>; default: your widest jurisdiction."),
]


@route("indicators", "indicator")
class IndicatorViewSet(viewsets.ReadOnlyModelViewSet):
    """The indicator catalogue (definitions as data) and the values of each indicator."""

    serializer_class = IndicatorSerializer
    lookup_field = "code"
    lookup_value_regex = r"[A-Za-z0-9._-]+"

    def get_queryset(self):
        return Indicator.objects.filter(is_active=True)

    def get_object(self):
        code = self.kwargs.get("code")
        obj = self.get_queryset().filter(code=code).first()
        if obj is None:
            raise NotFound(_("There is no indicator with the code %(code)s.") % {"code": code})
        return obj

    @extend_schema(parameters=VALUES_PARAMS, responses={200: inline_serializer("IndicatorValues", {
        "indicator": serializers.DictField(), "period": serializers.DictField(), "by": serializers.ListField(),
        "scope": serializers.DictField(), "disclosure": serializers.CharField(), "threshold": serializers.IntegerField(),
        "status": serializers.CharField(), "message": serializers.CharField(), "missing_sources": serializers.ListField(),
        "source": serializers.CharField(), "as_of": serializers.DateTimeField(allow_null=True), "stale": serializers.BooleanField(),
        "rows": serializers.ListField(child=serializers.DictField()), "notes": serializers.ListField(),
    })})
    @action(detail=True, methods=["get"], url_path="values")
    def values(self, request, code=None):
        # Like an unknown period or disaggregation, an unknown indicator is bad input here: a 400 naming it.
        indicator = self.get_queryset().filter(code=code).first()
        if indicator is None:
            raise ValidationError({"indicator": [_("There is no indicator with the code %(code)s.") % {"code": code}]})
        params = request.query_params
        try:
            period = parse(params.get("period"))
        except PeriodError as exc:
            raise ValidationError({"period": [str(exc)]}) from None
        by = [b.strip() for b in (params.get("by") or "").split(",") if b.strip()]
        try:
            by = engine.validate_by(indicator, by)
        except ByError as exc:
            raise ValidationError({"by": [str(exc)]}) from None
        mode = params.get("disclosure", "published")
        if mode not in ("published", "internal"):
            raise ValidationError({"disclosure": [_("Use published or internal.")]})
        try:
            scope = scopes.resolve(request.user, params.get("scope"))
        except Http404:
            if params.get("scope"):
                raise NotFound(_("No such jurisdiction within your reach.")) from None
            raise NotFound(_("Indicator values are for users with a monitoring role.")) from None
        result = engine.compute(indicator, period, by, scope)
        table = disclosure.protect(result, published=(mode == "published"))
        return Response({
            "indicator": {"code": indicator.code, "name": indicator.name, "kind": indicator.kind, "unit": indicator.unit,
                          "direction": indicator.direction},
            "period": period.as_dict(),
            "by": by,
            "scope": {"key": scope.key, "label": scope.label},
            "disclosure": mode,
            "threshold": table.threshold,
            "status": result.status,
            "message": result.message,
            "missing_sources": [{"source": k, "label": sources.label(k)} for k in result.missing],
            "source": result.source,
            "as_of": result.as_of,
            "stale": result.stale,
            "rows": present.rows_for_api(table),
            "notes": table.notes(),
        })
