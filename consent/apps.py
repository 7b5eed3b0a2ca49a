from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"

    def ready(self) -> None:
        from consent.portal import invitations_panel
        from tickets.panels import register_portal_panel

        register_portal_panel(invitations_panel)
