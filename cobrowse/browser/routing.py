"""WebSocket routes of server-side browser sessions (the screencast viewer)."""

websocket_urlpatterns: list = []
