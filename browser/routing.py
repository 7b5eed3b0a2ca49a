"""WebSocket routes of server-side browser sessions (the screencast viewer).

Staff and the customer both open the viewer from Tandem's own pages, so the host-based origin
check applies to both; staff are known by their Django session, the customer by the grant in the
first message.
"""

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from browser.consumers import BrowserViewerConsumer

websocket_urlpatterns = [
    path(
        "ws/browser/<int:session_id>/",
        AllowedHostsOriginValidator(AuthMiddlewareStack(BrowserViewerConsumer.as_asgi())),
    ),
]
