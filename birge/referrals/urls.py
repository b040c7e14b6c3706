from django.urls import path

from . import views

app_name = "referrals"

urlpatterns = [
    path("", views.referral_list, name="list"),
    path("new/", views.referral_create, name="create"),
    path("<int:pk>/", views.referral_detail, name="detail"),
    path("<int:pk>/edit/", views.referral_edit, name="edit"),
    path("<int:pk>/observations/new/", views.observation_add, name="observation-add"),
    path("<int:pk>/attachments/new/", views.attachment_add, name="attachment-add"),
    path("<int:pk>/<slug:action>/", views.referral_transition, name="transition"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("concerns/", views.concern_list, name="concern-list"),
    path("concerns/new/", views.concern_create, name="concern-create"),
    path("concerns/<int:pk>/", views.concern_detail, name="concern-detail"),
    path("deadlines/", views.deadline_list, name="deadlines"),
    path("deadlines/<int:pk>/delay/", views.deadline_delay, name="deadline-delay"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/read-all/", views.notification_read_all, name="notifications-read-all"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification-read"),
]
