from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.views import favicon

api_patterns: list[URLPattern | URLResolver] = [
    path("", include("accounts.api_urls")),
    path("", include("tickets.api_urls")),
    path("", include("live.api_urls")),
    path("", include("browser.api_urls")),
    path("", include("recordings.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: the CSP allows no inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

handler404 = "config.error_pages.page_not_found"

urlpatterns = [
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    path("", include("accounts.urls")),
    path("", include("tickets.urls")),
    path("", include("consent.urls")),
    path("", include("live.urls")),
    path("", include("live.console_urls")),
    path("", include("browser.urls")),
    path("", include("recordings.urls")),
    path("", include("outcomes.urls")),
    path("", include("analytics.urls")),
]

# An unreachable database is a 503, anything else the product's 500 (config/unavailable.py).
handler500 = "config.unavailable.server_error"
