from django.urls import path

from recordings import api

urlpatterns = [
    path("recordings/", api.RecordingListView.as_view(), name="api-recordings"),
    path("recordings/<int:pk>/", api.RecordingDetailView.as_view(), name="api-recording"),
    path("recordings/<int:pk>/highlights/", api.HighlightListView.as_view(), name="api-recording-highlights"),
    path("recordings/<int:pk>/accesses/", api.AccessHistoryView.as_view(), name="api-recording-accesses"),
]
