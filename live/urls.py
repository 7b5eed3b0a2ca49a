from django.urls import path

from live import active_views, views

app_name = "cobrowse"

urlpatterns = [
    path("agent/tickets/<str:number>/cobrowse/start/", views.start, name="start"),
    path(
        "agent/cobrowse/sessions/<int:pk>/<str:action>/",
        views.agent_action,
        name="agent_action",
    ),
    path(
        "portal/tickets/<str:number>/screen-share/", views.request_screen_share, name="request_screen_share"
    ),
    path("cobrowse/sessions/<int:pk>/", views.sharing, name="sharing"),
    path("cobrowse/sessions/<int:pk>/stop/", views.stop_sharing, name="stop"),
    path("cobrowse/sessions/<int:pk>/lower/", views.lower_mode, name="lower"),
    path("cobrowse/mode-requests/<int:pk>/answer/", views.answer_mode_request, name="answer_mode"),
    path("cobrowse/extensions/<int:pk>/answer/", views.answer_extension, name="answer_extension"),
    path("agent/sessions/", active_views.active_sessions, name="active_sessions"),
    path("manager/approvals/", views.approvals, name="approvals"),
    path("manager/approvals/<int:pk>/", views.decide_approval, name="decide_approval"),
]
