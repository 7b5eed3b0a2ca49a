from django.apps import AppConfig


class CobrowseConfig(AppConfig):
    name = "cobrowse"

    def ready(self) -> None:
        from cobrowse import signals  # noqa: F401  (connects the broadcast receivers)
