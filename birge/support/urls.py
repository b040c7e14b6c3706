from django.urls import path

from . import views

app_name = "support"

urlpatterns = [
    path("", views.index, name="index"),
    path("sessions/", views.SessionList.as_view(), name="sessions"),
    path("sessions/new/", views.session_log, name="session-log"),
    path("sessions/<int:pk>/withdraw/", views.session_withdraw, name="session-withdraw"),
    path("delivery/", views.delivery_page, name="delivery"),
    path("handovers/", views.HandoverList.as_view(), name="handovers"),
    path("handovers/new/", views.handover_create, name="handover-create"),
    path("handovers/<int:pk>/", views.handover_detail, name="handover"),
]
