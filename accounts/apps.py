from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from axes.signals import user_locked_out

        from accounts.throttle import on_user_locked_out

        user_locked_out.connect(on_user_locked_out, dispatch_uid="accounts.audit_lockout")
