from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"

    def ready(self) -> None:
        from consent.portal import invitations_panel
        from tickets.panels import register_portal_panel

        register_portal_panel(invitations_panel)

        from cobrowse import services as session_services
        from consent import services, team

        # Ending a session (in the core, below consent) must void its links, revoke its grants and
        # close its team seats in the same transaction: the core calls these hooks under its lock.
        session_services.on_session_end(services.session_ended)
        session_services.on_session_end(team.close_team_viewers)

        from accounts import mail
        from consent import delivery

        # Invitation e-mails are sent by the mail worker (below consent), which alone knows whether
        # the mail server took them: it reports back here, and the agent sees it on the ticket.
        mail.on_outcome(delivery.EMAIL_OUTCOME, delivery.email_outcome)

        from cobrowse import tasks as cobrowse_tasks
        from consent import help_requests

        # Help requests nobody took in time are closed (a call-back asked on the ticket) by the
        # session sweep as well as whenever they are touched.
        cobrowse_tasks.on_sweep(help_requests.expire_overdue)

        from cobrowse import page_signals
        from consent import alternatives

        # A connection that keeps dropping makes the console suggest alternatives: the relay's
        # disconnect reports (below consent) are counted here as well as kept by analytics.
        page_signals.on_disconnect(alternatives.note_disconnect)
