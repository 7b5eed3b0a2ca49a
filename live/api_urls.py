from django.urls import path

from live import api, voice_api

urlpatterns = [
    path("tickets/<str:number>/cobrowse/", api.TicketCoBrowseView.as_view(), name="api-ticket-cobrowse"),
    path("cobrowse/sessions/<int:pk>/", api.SessionDetailView.as_view(), name="api-cobrowse-session"),
    path("cobrowse/sessions/<int:pk>/revoke/", api.RevokeView.as_view(), name="api-cobrowse-revoke"),
    path("cobrowse/sessions/<int:pk>/lower/", api.CustomerLowerModeView.as_view(), name="api-cobrowse-lower"),
    path("cobrowse/sessions/<int:pk>/viewers/", api.ViewersView.as_view(), name="api-cobrowse-viewers"),
    path("cobrowse/sessions/<int:pk>/end/", api.EndView.as_view(), name="api-cobrowse-end"),
    path("cobrowse/sessions/<int:pk>/resend/", api.ResendView.as_view(), name="api-cobrowse-resend"),
    path("cobrowse/sessions/<int:pk>/mode/", api.ModeView.as_view(), name="api-cobrowse-mode"),
    path("cobrowse/sessions/<int:pk>/extend/", api.ExtendView.as_view(), name="api-cobrowse-extend"),
    path(
        "cobrowse/sessions/<int:pk>/transcript/",
        voice_api.TranscriptView.as_view(),
        name="api-cobrowse-transcript",
    ),
    path("cobrowse/sessions/<int:pk>/assist/", voice_api.AssistView.as_view(), name="api-cobrowse-assist"),
    path(
        "cobrowse/mode-requests/<int:pk>/approve/",
        api.ApprovalView.as_view(approve=True),
        name="api-cobrowse-approve",
    ),
    path(
        "cobrowse/mode-requests/<int:pk>/decline/",
        api.ApprovalView.as_view(approve=False),
        name="api-cobrowse-decline",
    ),
    path("cobrowse/mode-requests/<int:pk>/answer/", api.ModeAnswerView.as_view(), name="api-cobrowse-answer"),
    path("cobrowse/grants/refresh/", api.GrantRefreshView.as_view(), name="api-cobrowse-grant-refresh"),
    path("cobrowse/grants/describe/", api.GrantDescribeView.as_view(), name="api-cobrowse-grant-describe"),
    path("cobrowse/grants/confirm/", api.GrantConfirmView.as_view(), name="api-cobrowse-grant-confirm"),
]
