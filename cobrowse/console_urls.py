"""The agent console: the live view of a co-browse session."""

urlpatterns: list = []
