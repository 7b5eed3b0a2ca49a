from django.apps import AppConfig


class LiveConfig(AppConfig):
    """What happens while a co-browse session is live: the sockets and the session's HTTP faces.

    Above the session core (``cobrowse``), ``consent`` and ``recordings``: it uses all three.
    """

    name = "live"
