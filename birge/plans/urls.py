from django.urls import path

from . import views

app_name = "plans"

urlpatterns = [
    path("", views.PlanList.as_view(), name="list"),
    path("new/", views.plan_create, name="create"),
    path("<int:pk>/", views.plan_detail, name="detail"),
    path("<int:pk>/edit/", views.plan_edit, name="edit"),
    path("<int:pk>/goals/new/", views.goal_add, name="goal-add"),
    path("<int:pk>/accommodations/new/", views.accommodation_add, name="accommodation-add"),
    path("<int:pk>/services/new/", views.service_add, name="service-add"),
    path("<int:pk>/team/new/", views.member_add, name="member-add"),
    path("<int:pk>/propose/", views.plan_propose, name="propose"),
    path("<int:pk>/return/", views.plan_return, name="return"),
    path("<int:pk>/agree/", views.plan_agree, name="agree"),
    path("<int:pk>/activate/", views.plan_activate, name="activate"),
    path("<int:pk>/amend/", views.plan_amend, name="amend"),
    path("<int:pk>/close/", views.plan_close, name="close"),
    path("<int:pk>/review/start/", views.plan_start_review, name="review-start"),
    path("<int:pk>/review/", views.plan_review, name="review"),
    path("<int:pk>/document/", views.plan_document, name="document"),
    path("<int:pk>/document.pdf", views.plan_document, {"fmt": "pdf"}, name="document-pdf"),
    path("goals/<int:pk>/edit/", views.goal_edit, name="goal-edit"),
    path("goals/<int:pk>/remove/", views.goal_remove, name="goal-remove"),
    path("accommodations/<int:pk>/edit/", views.accommodation_edit, name="accommodation-edit"),
    path("accommodations/<int:pk>/remove/", views.accommodation_remove, name="accommodation-remove"),
    path("services/<int:pk>/edit/", views.service_edit, name="service-edit"),
    path("services/<int:pk>/remove/", views.service_remove, name="service-remove"),
    path("team/<int:pk>/remove/", views.member_remove, name="member-remove"),
]
