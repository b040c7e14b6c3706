from django.urls import path

from . import views

app_name = "monitoring"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("indicators/", views.catalogue, name="catalogue"),
    path("indicators/<str:code>/", views.indicator, name="indicator"),
    path("indicators/<str:code>/export.csv", views.export_csv, name="export-csv"),
    path("indicators/<str:code>/export.xlsx", views.export_xlsx, name="export-xlsx"),
    path("indicators/<str:code>/snapshot/", views.snapshot, name="snapshot-create"),
    path("parity/", views.parity, name="parity"),
    path("processes/", views.processes, name="processes"),
    path("dhis2/", views.dhis2, name="dhis2"),
    path("snapshots/", views.snapshots, name="snapshots"),
    path("snapshots/<int:pk>/", views.snapshot_detail, name="snapshot"),
    path("status/", views.status, name="status"),
    path("status/refresh/", views.refresh, name="refresh"),
]
