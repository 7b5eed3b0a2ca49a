"""Pages of server-side browser sessions: the screencast viewer at /browser/<id>/.

Include with ``path("", include("browser.urls"))`` in config/urls.py.
"""

from django.urls import path

from browser import views

urlpatterns = [
    path("browser/<int:pk>/", views.viewer, name="browser-viewer"),
]
