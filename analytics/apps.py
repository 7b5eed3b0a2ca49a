from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from analytics import services
        from cobrowse import page_signals

        page_signals.on_signal(services.keep_signal)
        page_signals.on_disconnect(services.keep_disconnect)
        page_signals.on_quality(services.keep_quality)
