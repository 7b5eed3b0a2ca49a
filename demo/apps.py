from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo data and the start-up banner: they use every app, so they sit above them all."""

    name = "demo"
