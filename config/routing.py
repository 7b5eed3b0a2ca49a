"""WebSocket routes.

Staff sockets go through ``staff()``: the host-based origin check and the Django session.
Customer sockets are opened from the customer's own site (another origin) and go through
``public()``: their consumer authenticates with a session grant and checks the origin against
the session account's allowed origins itself.
"""

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from accounts.consumers import PingConsumer
from browser.routing import websocket_urlpatterns as browser_websocket_urlpatterns
from live.consumers import AgentConsumer, CustomerConsumer, ManagerApprovalsConsumer, TeamViewerConsumer


def staff(route: str, consumer):
    return path(route, AllowedHostsOriginValidator(AuthMiddlewareStack(consumer.as_asgi())))


def same_site(route: str, consumer):
    """Opened from a Tandem page, authenticated by a grant in its first frame (no Django session)."""
    return path(route, AllowedHostsOriginValidator(consumer.as_asgi()))


def public(route: str, consumer):
    return path(route, consumer.as_asgi())


websocket_urlpatterns = [
    staff("ws/ping/", PingConsumer),
    staff("ws/cobrowse/<int:session_id>/agent/", AgentConsumer),
    public("ws/cobrowse/<int:session_id>/customer/", CustomerConsumer),
    same_site("ws/cobrowse/<int:session_id>/watch/", TeamViewerConsumer),
    *browser_websocket_urlpatterns,
    # Every manager page: the live count of Full Control requests waiting for a manager.
    staff("ws/manager/approvals/", ManagerApprovalsConsumer),
]
