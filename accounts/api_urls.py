"""The accounts app's API: the widget's signature check (mounted under ``/api/``)."""

from django.urls import path

from accounts import widget_api

urlpatterns = [
    path("widget/identify/", widget_api.IdentifyView.as_view(), name="api-widget-identify"),
]
