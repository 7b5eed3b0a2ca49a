"""The agent console: the live view of a co-browse session."""

from django.urls import path

from live import console_views

app_name = "console"

urlpatterns = [
    path("agent/sessions/<int:pk>/", console_views.live_console, name="live"),
    path("agent/sessions/<int:pk>/connection/", console_views.connection, name="connection"),
    path("agent/sessions/<int:pk>/fresh-link/", console_views.fresh_link, name="fresh_link"),
    path("agent/sessions/<int:pk>/callback/", console_views.callback, name="callback"),
    path("agent/sessions/<int:pk>/browser/", console_views.browser, name="browser"),
]
