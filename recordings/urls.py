"""Recording pages: staff under /manager/recordings/, customers under /portal/recordings/."""

from __future__ import annotations

from django.urls import path

from recordings import views

app_name = "recordings"

urlpatterns = [
    path("manager/recordings/", views.recording_list, name="list"),
    path("manager/recordings/highlights/", views.highlight_library, name="highlights"),
    path(
        "manager/recordings/highlights/<int:highlight_id>/delete/",
        views.highlight_delete,
        name="highlight_delete",
    ),
    path("manager/recordings/requests/", views.access_requests, name="requests"),
    path("manager/recordings/requests/<int:request_id>/decide/", views.access_request_decide, name="decide"),
    path("manager/recordings/<int:pk>/", views.recording_detail, name="detail"),
    path("manager/recordings/<int:pk>/events/", views.recording_events, name="events"),
    path("manager/recordings/<int:pk>/index/", views.recording_index, name="index"),
    path("manager/recordings/<int:pk>/chunks/<int:index>/", views.recording_chunk, name="chunk"),
    path("manager/recordings/<int:pk>/highlights/", views.highlight_create, name="highlight_create"),
    path("manager/recordings/<int:pk>/delete/", views.recording_delete, name="delete"),
    path("portal/recordings/", views.portal_recordings, name="portal"),
    path("portal/recordings/<int:pk>/request/", views.portal_request_copy, name="portal_request"),
    path("portal/recordings/<int:pk>/delete/", views.portal_delete, name="portal_delete"),
    path("portal/recordings/copy/<str:token>/", views.customer_copy, name="customer_copy"),
    path(
        "portal/recordings/copy/<str:token>/events/", views.customer_copy_events, name="customer_copy_events"
    ),
    path("portal/recordings/copy/<str:token>/index/", views.customer_copy_index, name="customer_copy_index"),
    path(
        "portal/recordings/copy/<str:token>/chunks/<int:index>/",
        views.customer_copy_chunk,
        name="customer_copy_chunk",
    ),
]
