from django.urls import path

from analytics import quality_views, views

app_name = "analytics"

urlpatterns = [
    path("manager/", views.manager_dashboard, name="dashboard"),
    path("agent/performance/", views.agent_performance, name="performance"),
    path("manager/roi/", views.roi_calculator, name="roi"),
    path("manager/quality/", quality_views.live_quality, name="quality"),
    path("manager/report/", views.monthly_report, name="report"),
    path("manager/forms/", views.forms, name="forms"),
    path("manager/forms/sessions/", views.forms_sessions, name="forms_sessions"),
    path("manager/agents/", views.agents, name="agents"),
    path("manager/agents/<int:pk>/", views.agent, name="agent"),
    path("manager/agents/<int:pk>/certify/", views.agent_certify, name="agent_certify"),
    path("manager/agents/<int:pk>/revoke/", views.agent_revoke, name="agent_revoke"),
]
