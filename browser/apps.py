from django.apps import AppConfig


class BrowserConfig(AppConfig):
    name = "browser"
    verbose_name = "Server-side browser"

    def ready(self) -> None:
        from browser import prewarm  # noqa: F401  (browser workers launch Chromium at start)
