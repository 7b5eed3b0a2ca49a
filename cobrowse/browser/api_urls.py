"""REST API of server-side browser sessions."""

urlpatterns: list = []
