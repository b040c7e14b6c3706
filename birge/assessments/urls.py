from django.urls import path

from . import views

app_name = "assessments"

urlpatterns = [
    path("", views.index, name="index"),
    path("catalogue/", views.catalogue, name="catalogue"),
    path("sessions/", views.session_list, name="session-list"),
    path("sessions/new/<int:referral_pk>/", views.session_schedule, name="session-schedule"),
    path("sessions/<int:pk>/", views.session_detail, name="session-detail"),
    path("sessions/<int:pk>/move/", views.session_reschedule, name="session-reschedule"),
    path("sessions/<int:pk>/members/add/", views.session_member_add, name="session-member-add"),
    path("sessions/<int:pk>/members/<int:member_pk>/remove/", views.session_member_remove, name="session-member-remove"),
    path("sessions/<int:pk>/findings/add/", views.finding_add, name="finding-add"),
    path("sessions/<int:pk>/findings/<int:finding_pk>/", views.finding_edit, name="finding-edit"),
    path("sessions/<int:pk>/held/", views.session_held, name="session-held"),
    path("sessions/<int:pk>/cancel/", views.session_cancel, name="session-cancel"),
    path("sessions/<int:pk>/conclusion/", views.conclusion_start, name="conclusion-start"),
    path("conclusions/", views.conclusion_list, name="conclusion-list"),
    path("conclusions/<int:pk>/", views.conclusion_detail, name="conclusion-detail"),
    path("conclusions/<int:pk>/edit/", views.conclusion_edit, name="conclusion-edit"),
    path("conclusions/<int:pk>/issue/", views.conclusion_issue, name="conclusion-issue"),
    path("conclusions/<int:pk>/withdraw/", views.conclusion_withdraw, name="conclusion-withdraw"),
    path("conclusions/<int:pk>/supersede/", views.conclusion_supersede, name="conclusion-supersede"),
    path("conclusions/<int:pk>/document/", views.conclusion_document, name="conclusion-document"),
    path("conclusions/<int:pk>/document.pdf", views.conclusion_pdf, name="conclusion-pdf"),
    path("conclusions/<int:pk>/release/", views.conclusion_release, name="conclusion-release"),
    path("releases/<int:pk>/revoke/", views.release_revoke, name="release-revoke"),
    path("released/", views.released, name="released"),
    path("released/record/", views.release_by_number, name="release-by-number"),
]
