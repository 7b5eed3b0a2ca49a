from django.urls import path

from outcomes import views

app_name = "outcomes"

urlpatterns = [
    path("agent/sessions/<int:session_id>/outcome/", views.record, name="record"),
    path("survey/<str:token>/", views.survey, name="survey"),
    path("survey/<str:token>/answer/", views.survey_answer, name="survey_answer"),
]
