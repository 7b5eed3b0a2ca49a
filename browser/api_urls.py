"""REST API of server-side browser sessions (mounted under /api/)."""

from django.urls import path

from browser import api

urlpatterns = [
    path("browser-sessions/", api.BrowserSessionsView.as_view(), name="api-browser-sessions"),
    path("browser-sessions/<int:pk>/actions/", api.ActionView.as_view(), name="api-browser-actions"),
    path(
        "browser-sessions/<int:pk>/screenshot/", api.ScreenshotView.as_view(), name="api-browser-screenshot"
    ),
    path("browser-sessions/<int:pk>/dom/", api.OutlineView.as_view(), name="api-browser-dom"),
    path("browser-sessions/<int:pk>/status/", api.StatusView.as_view(), name="api-browser-status"),
    path("browser-sessions/<int:pk>/stop/", api.StopView.as_view(), name="api-browser-stop"),
]
