from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "casebridge.outcomes"
    label = "outcomes"
    verbose_name = "Outcomes and follow-up"

    def ready(self):
        # the outcomes' section of the case page: cases lies below and does not import it
        from casebridge.cases.views import register_section  # noqa: PLC0415 (app loading)
        from casebridge.outcomes.views import SECTION  # noqa: PLC0415 (app loading)

        register_section(SECTION)
