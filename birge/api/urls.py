"""The versioned REST API. Each app owns its serializers and viewsets; they are wired here."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from birge.core import api as core_api

from .registry import EXTRA, ROUTES

router = DefaultRouter()
for prefix, viewset, basename in ROUTES:
    router.register(prefix, viewset, basename=basename)

urlpatterns = [
    path("auth/token/", core_api.ObtainToken.as_view(), name="api-token"),
    path("auth/token/revoke/", core_api.RevokeToken.as_view(), name="api-token-revoke"),
    path("me/", core_api.Me.as_view(), name="api-me"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    *[path(p, v, name=n) for p, v, n in EXTRA],
    path("", include(router.urls)),
]
