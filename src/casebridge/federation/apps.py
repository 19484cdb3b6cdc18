from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_save


class FederationConfig(AppConfig):
    name = "casebridge.federation"
    label = "federation"
    verbose_name = "Federation with partner installations"

    def ready(self):
        # the federation's section of the case page: cases lies below and does not import it
        from casebridge.cases.views import register_section  # noqa: PLC0415 (app loading)
        from casebridge.federation.models import Agreement  # noqa: PLC0415 (app loading)
        from casebridge.federation.selectors import (  # noqa: PLC0415 (app loading)
            forget_agreement_organisations,
        )
        from casebridge.federation.views import SECTION  # noqa: PLC0415 (app loading)

        register_section(SECTION)
        for signal in (post_save, post_delete):
            signal.connect(
                forget_agreement_organisations, sender=Agreement, dispatch_uid=f"fed-{signal}"
            )
        m2m_changed.connect(
            forget_agreement_organisations,
            sender=Agreement.organisations.through,
            dispatch_uid="fed-m2m",
        )
