"""ASGI application serving only the bare relay of :mod:`bench.echo_consumer` (``--echo`` runs)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from bench.echo_consumer import EchoAgentConsumer, EchoCustomerConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(
            [
                path("ws/cobrowse/<int:session_id>/agent/", EchoAgentConsumer.as_asgi()),
                path("ws/cobrowse/<int:session_id>/customer/", EchoCustomerConsumer.as_asgi()),
            ]
        ),
    }
)
