from django.urls import path

from . import views

app_name = "screening"

urlpatterns = [
    path("learner/<int:learner_pk>/", views.learner_screenings, name="learner-list"),
    path("learner/<int:learner_pk>/new/", views.start, name="start"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/answers/", views.answers, name="answers"),
    path("<int:pk>/withdraw/", views.withdraw, name="withdraw"),
]
