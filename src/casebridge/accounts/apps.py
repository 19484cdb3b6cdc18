from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "casebridge.accounts"
    label = "accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in  # noqa: PLC0415 (app loading)

        from casebridge.accounts.security import session_started  # noqa: PLC0415 (app loading)

        user_logged_in.connect(session_started, dispatch_uid="casebridge.session_started")
