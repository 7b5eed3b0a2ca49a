from django.apps import AppConfig


class CobrowseConfig(AppConfig):
    name = "cobrowse"
