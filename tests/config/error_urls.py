"""The project's URLs plus views that fail on purpose (error page and log tests)."""

from django.core.exceptions import PermissionDenied
from django.urls import path

from config.urls import handler404  # noqa: F401 - the project's, for this URLconf too
from config.urls import urlpatterns as project_urlpatterns


def forbidden(request):
    raise PermissionDenied("Not yours.")


def broken(request):
    raise RuntimeError("boom")


urlpatterns = [
    path("test-errors/forbidden/", forbidden),
    path("test-errors/broken/", broken),
    *project_urlpatterns,
]
