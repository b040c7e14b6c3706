from django.urls import path

from . import views

app_name = "learners"

urlpatterns = [
    path("", views.LearnerList.as_view(), name="list"),
    path("new/", views.learner_create, name="create"),
    path("import/", views.roster_import, name="import"),
    path("<int:pk>/", views.learner_detail, name="detail"),
    path("<int:pk>/edit/", views.learner_edit, name="edit"),
    path("<int:pk>/pin/", views.learner_pin, name="pin"),
    path("<int:pk>/archive/", views.learner_archive, name="archive"),
    path("<int:pk>/guardians/new/", views.guardian_add, name="guardian-add"),
    path("<int:pk>/guardians/link/", views.guardian_link, name="guardian-link"),
    path("<int:pk>/consents/new/", views.consent_add, name="consent-add"),
    path("<int:pk>/disability/new/", views.disability_add, name="disability-add"),
    path("<int:pk>/diagnoses/new/", views.diagnosis_add, name="diagnosis-add"),
    path("<int:pk>/enrolments/new/", views.enrolment_add, name="enrolment-add"),
    path("<int:pk>/assignments/new/", views.assignment_add, name="assignment-add"),
    path("guardians/<int:pk>/edit/", views.guardian_edit, name="guardian-edit"),
    path("guardians/<int:pk>/account/", views.guardian_account, name="guardian-account"),
    path("guardian-links/<int:pk>/end/", views.guardian_link_end, name="guardian-link-end"),
    path("consents/<int:pk>/withdraw/", views.consent_withdraw, name="consent-withdraw"),
    path("consents/<int:pk>/document/", views.consent_document, name="consent-document"),
    path("disability/<int:pk>/", views.disability_detail, name="disability-detail"),
    path("disability/<int:pk>/close/", views.disability_close, name="disability-close"),
    path("diagnoses/<int:pk>/withdraw/", views.diagnosis_withdraw, name="diagnosis-withdraw"),
    path("enrolments/<int:pk>/edit/", views.enrolment_edit, name="enrolment-edit"),
    path("enrolments/<int:pk>/transfer/", views.enrolment_transfer, name="enrolment-transfer"),
    path("enrolments/<int:pk>/complete/", views.enrolment_end, {"how": "complete"}, name="enrolment-complete"),
    path("enrolments/<int:pk>/drop-out/", views.enrolment_end, {"how": "drop-out"}, name="enrolment-drop-out"),
    path("assignments/<int:pk>/end/", views.assignment_end, name="assignment-end"),
]
