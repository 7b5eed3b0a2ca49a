from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    """How each co-browse session ended for the customer: outcome, summary on the ticket, survey."""

    name = "outcomes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from outcomes import selectors
        from tickets import api_fields

        api_fields.register("cobrowse_outcomes", selectors.ticket_outcomes)

        from outcomes.views import survey_panel
        from tickets.panels import register_portal_panel

        register_portal_panel(survey_panel)

        from tickets import satisfaction

        satisfaction.skip_when(selectors.shared_a_session)  # one survey about the same help

        from cobrowse import cors
        from cobrowse import services as session_services
        from outcomes import survey_mail

        # The widget's end card answers cross-origin, from the customer's site.
        cors.allow_widget_path(r"/survey/[^/]+/answer/")
        # The core cannot import outcomes: it calls this in the transaction that ends a session.
        session_services.on_session_end(survey_mail.session_ended)
