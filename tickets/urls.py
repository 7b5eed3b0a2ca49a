"""Agent pages under /agent/, customer portal under /portal/."""

from __future__ import annotations

from django.urls import path

from tickets import satisfaction_views, views

app_name = "tickets"

urlpatterns = [
    path("agent/", views.queue, name="queue"),
    path("agent/tickets/<str:number>/", views.agent_ticket, name="agent_ticket"),
    path("agent/tickets/<str:number>/update/", views.agent_ticket_update, name="agent_ticket_update"),
    path("agent/tickets/<str:number>/comment/", views.agent_ticket_comment, name="agent_ticket_comment"),
    path("agent/tickets/<str:number>/escalate/", views.agent_ticket_escalate, name="agent_ticket_escalate"),
    path("portal/", views.portal, name="portal"),
    path("portal/new/", views.portal_new_ticket, name="portal_new"),
    path("portal/tickets/<str:number>/", views.portal_ticket, name="portal_ticket"),
    path("portal/tickets/<str:number>/reply/", views.portal_ticket_reply, name="portal_ticket_reply"),
    path("satisfaction/<str:token>/", satisfaction_views.answer, name="satisfaction"),
]
