from django.urls import path

from consent import views

app_name = "consent"

urlpatterns = [
    path("j/<str:token>/", views.join, name="join"),
]
