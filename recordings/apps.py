from django.apps import AppConfig


class RecordingsConfig(AppConfig):
    name = "recordings"
    verbose_name = "Recordings"

    def ready(self) -> None:
        from recordings import keys  # noqa: F401  (registers the RECORDING_KEYS system check)
