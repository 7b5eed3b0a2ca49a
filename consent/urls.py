from django.urls import path

from consent import help_api, help_views, portal, views

app_name = "consent"

urlpatterns = [
    path("j/<str:token>/", views.join, name="join"),
    path("w/<str:token>/", views.watch_join, name="watch_join"),
    path("watch/<int:pk>/", views.watch, name="watch"),
    path("watch/<int:pk>/grant/", views.watch_grant, name="watch_grant"),
    path("watch/<int:pk>/leave/", views.watch_leave, name="watch_leave"),
    path("cobrowse/sessions/<int:pk>/team/", views.invite_team_member, name="invite_team_member"),
    path(
        "cobrowse/sessions/<int:pk>/team/<int:viewer_pk>/remove/",
        views.remove_team_member,
        name="remove_team_member",
    ),
    path(
        "portal/tickets/<str:number>/invitations/<int:session_id>/open/",
        portal.portal_open_invitation,
        name="portal_open_invitation",
    ),
    path(
        "portal/tickets/<str:number>/cobrowse/<int:session_id>/resume/",
        portal.portal_resume_sharing,
        name="portal_resume_sharing",
    ),
    # The widget's help calls (CORS: cobrowse.cors answers for /api/widget/).
    path("api/widget/help/", help_api.HelpRequestsView.as_view(), name="api-widget-help"),
    path("api/widget/help/words/", help_api.HelpWordsView.as_view(), name="api-widget-help-words"),
    path("api/widget/help/<str:token>/", help_api.HelpRequestView.as_view(), name="api-widget-help-request"),
    path("agent/help/<int:pk>/take/", help_views.take_help_request, name="take_help_request"),
]
