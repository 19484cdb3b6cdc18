from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "casebridge.accounts"
    label = "accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from casebridge.accounts.security import session_started

        user_logged_in.connect(session_started, dispatch_uid="casebridge.session_started")
