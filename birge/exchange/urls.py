from django.urls import path

from . import views

app_name = "exchange"

urlpatterns = [
    path("", views.batch_list, name="batch-list"),
    path("upload/", views.batch_upload, name="batch-upload"),
    path("batches/<int:pk>/", views.batch_detail, name="batch-detail"),
    path("batches/<int:pk>/link/", views.batch_link, name="batch-link"),
    path("batches/<int:pk>/withdraw/", views.batch_withdraw, name="batch-withdraw"),
    path("rows/<int:pk>/", views.person_detail, name="person-detail"),
    path("rows/<int:pk>/register/", views.person_register, name="person-register"),
    path("review/", views.review_queue, name="review-queue"),
    path("review/<int:pk>/", views.pair_detail, name="pair-detail"),
    path("review/<int:pk>/decide/", views.pair_decide, name="pair-decide"),
    path("review/<int:pk>/undo/", views.pair_undo, name="pair-undo"),
    path("outreach/", views.case_list, name="case-list"),
    path("outreach/find/", views.case_find, name="case-find"),
    path("outreach/<int:pk>/", views.case_detail, name="case-detail"),
    path("outreach/<int:pk>/<slug:action>/", views.case_transition, name="case-transition"),
    path("duplicates/", views.duplicate_list, name="duplicate-list"),
    path("duplicates/merge/", views.merge_page, name="merge"),
    path("duplicates/merges/<int:pk>/", views.merge_detail, name="merge-detail"),
    path("sources/", views.source_list, name="source-list"),
    path("sources/new/", views.source_create, name="source-create"),
    path("sources/<int:pk>/", views.source_edit, name="source-edit"),
]
