from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from birge.core import views as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("birge.api.urls")),
    path("learners/", include("birge.learners.urls")),
    path("screening/", include("birge.screening.urls")),
    path("referrals/", include("birge.referrals.urls")),
    path("assessments/", include("birge.assessments.urls")),
    path("plans/", include("birge.plans.urls")),
    path("support/", include("birge.support.urls")),
    path("exchange/", include("birge.exchange.urls")),
    path("monitoring/", include("birge.monitoring.urls")),
    path("", include("birge.core.urls")),
]

handler404 = "birge.core.views.not_found"
handler403 = "birge.core.views.forbidden"
handler500 = "birge.core.views.server_error"
