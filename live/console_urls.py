"""The agent console: the live view of a co-browse session."""

from django.urls import path

from live import console_views

app_name = "console"

urlpatterns = [
    path("agent/sessions/<int:pk>/", console_views.live_console, name="live"),
]
