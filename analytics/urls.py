from django.urls import path

from analytics import views

app_name = "analytics"

urlpatterns = [
    path("manager/roi/", views.roi_calculator, name="roi"),
]
