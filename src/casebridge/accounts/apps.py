from django.apps import AppConfig
from django.core import checks

from casebridge.facts import watch


class AccountsConfig(AppConfig):
    name = "casebridge.accounts"
    label = "accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in  # noqa: PLC0415 (app loading)
        from django_otp.plugins.otp_static.models import StaticDevice  # noqa: PLC0415 (app loading)
        from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: PLC0415 (app loading)

        from casebridge.accounts.security import session_started  # noqa: PLC0415 (app loading)
        from casebridge.accounts.sso import check_configuration  # noqa: PLC0415 (app loading)

        checks.register(check_configuration, checks.Tags.security)
        user_logged_in.connect(session_started, dispatch_uid="casebridge.session_started")
        # roles and the second factor are derived from these (casebridge.facts)
        watch(
            self.get_model("Membership"),
            self.get_model("User"),
            TOTPDevice,
            StaticDevice,
        )
